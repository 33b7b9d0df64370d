package parcelguard

import (
	"context"
	"time"
)

// IdempotencyTTL is how long an Idempotency-Key is remembered (DESIGN.md 5).
const IdempotencyTTL = 24 * time.Hour

// IdempotencyLease is how long a request may hold its key in flight. A
// holder that has not finished by then is taken to have died (a crash
// between claiming the key and storing the answer) and the key is free for
// a retry, so one crash cannot block a key for the whole IdempotencyTTL.
const IdempotencyLease = 5 * time.Minute

// IdempotencyState is where a keyed request stands.
type IdempotencyState string

// Idempotency states.
const (
	// IdempotencyInFlight: a request holds the key and has not answered yet.
	IdempotencyInFlight IdempotencyState = "in_flight"
	// IdempotencyDone: the answer is stored and is replayed to retries.
	IdempotencyDone IdempotencyState = "done"
	// IdempotencyWithheld: the request succeeded but its answer carried a
	// one-time secret, so only this marker is stored and retries are told
	// the answer cannot be replayed.
	IdempotencyWithheld IdempotencyState = "withheld"
)

// IdempotencyRecord remembers one request made with an Idempotency-Key and
// the answer it got, so that a retry gets the same answer instead of doing
// the work twice. Keys are scoped to the caller (an API key prefix, or a
// recipient link's parcel) so callers cannot see each other's answers.
type IdempotencyRecord struct {
	Scope string
	Key   string
	// RequestHash is a hash of what the request asked for (method, path,
	// body); a retry must match it.
	RequestHash []byte
	State       IdempotencyState
	// Status and Response are the stored answer: Response is opaque to the
	// store (the transport encodes headers and body into it). Empty while in
	// flight and for withheld answers. It never holds a secret.
	Status    int
	Response  []byte
	CreatedAt time.Time
	// UpdatedAt is when the record was last claimed or completed; an
	// in-flight record older than IdempotencyLease is abandoned.
	UpdatedAt time.Time
	ExpiresAt time.Time
	Version   int64
}

// Expired reports whether the key is forgotten at now.
func (r *IdempotencyRecord) Expired(now time.Time) bool { return !now.Before(r.ExpiresAt) }

// Abandoned reports whether an in-flight record's holder is presumed dead.
func (r *IdempotencyRecord) Abandoned(now time.Time) bool {
	return r.State == IdempotencyInFlight && now.Sub(r.UpdatedAt) >= IdempotencyLease
}

// IdempotencyTx stores idempotency records; it is part of Tx.
type IdempotencyTx interface {
	// CreateIdempotencyKey inserts r with Version 1, or returns ErrDuplicate
	// if a record of the same scope and key exists.
	CreateIdempotencyKey(ctx context.Context, r *IdempotencyRecord) error
	// IdempotencyKey returns the record of scope and key, or ErrNotFound.
	IdempotencyKey(ctx context.Context, scope, key string) (*IdempotencyRecord, error)
	// SaveIdempotencyKey updates r if its Version is current (else
	// ErrConflict; ErrNotFound if gone) and bumps Version.
	SaveIdempotencyKey(ctx context.Context, r *IdempotencyRecord) error
	// DeleteIdempotencyKey deletes r if its Version is current (else
	// ErrConflict; ErrNotFound if gone).
	DeleteIdempotencyKey(ctx context.Context, r *IdempotencyRecord) error
	// DeleteExpiredIdempotencyKeys deletes up to limit records whose
	// ExpiresAt is at or before now and returns how many it deleted.
	DeleteExpiredIdempotencyKeys(ctx context.Context, now time.Time, limit int) (int, error)
}

// Idempotency errors. Transports give each its own problem type.
var (
	ErrIdempotencyMismatch = &Error{Code: EINVALID, Message: "Idempotency-Key was already used with a different request"}
	ErrIdempotencyInFlight = &Error{Code: ECONFLICT, Message: "a request with this Idempotency-Key is still in progress; retry later"}
	ErrNotReplayable       = &Error{Code: ECONFLICT, Message: "the request with this Idempotency-Key succeeded, but its answer held a one-time secret and is not stored for replay"}
)
