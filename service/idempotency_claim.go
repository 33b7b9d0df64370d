package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
)

// A request with an Idempotency-Key used to claim the key in a write
// transaction of its own before its use case ran, and store the answer in
// another after: three writer transactions for one request. Now the key is
// claimed by the request's first write transaction, with its effect
// (WithIdempotencyClaim): the effect and the claim commit together or not
// at all, and the two requests of a concurrent duplicate cannot both
// commit, since the second's claim meets the first's row (SQLite's one
// writer runs it after the first; PostgreSQL's unique index makes it wait
// for the first to commit). A request whose key is already in the store
// runs nothing and takes the old path (BeginIdempotent): replay, refusal,
// or taking over an expired or abandoned key.

// IdempotencyClaim is one request's claim of an Idempotency-Key, made by
// its first write transaction. It belongs to that request alone.
type IdempotencyClaim struct {
	scope, key  string
	requestHash []byte
	record      *parcelguard.IdempotencyRecord // the claim, once committed
	taken       bool                           // the key was in the store already
}

// NewIdempotencyClaim returns the claim of key for a request of the caller
// scope whose content hashes to requestHash; nothing is stored yet.
func NewIdempotencyClaim(scope, key string, requestHash []byte) (*IdempotencyClaim, error) {
	if err := checkIdempotencyKey(scope, key); err != nil {
		return nil, err
	}
	return &IdempotencyClaim{scope: scope, key: key, requestHash: requestHash}, nil
}

// checkIdempotencyKey refuses a key no client should send.
func checkIdempotencyKey(scope, key string) error {
	if scope == "" || !ValidIdempotencyKey(key) {
		return parcelguard.Invalid(parcelguard.FieldError{Field: "Idempotency-Key", Message: "must be 1 to 255 printable ASCII characters"})
	}
	return nil
}

// newIdempotencyRecord is a record of key in state, made at now.
func newIdempotencyRecord(scope, key string, requestHash []byte, state parcelguard.IdempotencyState, now time.Time) *parcelguard.IdempotencyRecord {
	return &parcelguard.IdempotencyRecord{Scope: scope, Key: key, RequestHash: requestHash, State: state,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(parcelguard.IdempotencyTTL)}
}

// Made returns the claimed record once a write transaction of the request
// committed it with its effect, else nil.
func (c *IdempotencyClaim) Made() *parcelguard.IdempotencyRecord { return c.record }

// Taken reports whether the key was in the store already, so the request
// ran nothing: its answer is decided by BeginIdempotent.
func (c *IdempotencyClaim) Taken() bool { return c.taken }

type claimKey struct{}

// WithIdempotencyClaim returns ctx carrying c for the use cases it reaches.
func WithIdempotencyClaim(ctx context.Context, c *IdempotencyClaim) context.Context {
	return context.WithValue(ctx, claimKey{}, c)
}

// pendingClaim returns the claim of ctx that no write has made yet.
func pendingClaim(ctx context.Context) *IdempotencyClaim {
	c, _ := ctx.Value(claimKey{}).(*IdempotencyClaim)
	if c == nil || c.record != nil || c.taken {
		return nil
	}
	return c
}

// errKeyTaken stops a transaction whose claim met a stored key.
var errKeyTaken = errors.New("idempotency key already stored")

// claimIn inserts c's in-flight record in tx, returning it.
func (s *Service) claimIn(ctx context.Context, tx parcelguard.Tx, c *IdempotencyClaim) (*parcelguard.IdempotencyRecord, error) {
	r := newIdempotencyRecord(c.scope, c.key, c.requestHash, parcelguard.IdempotencyInFlight, s.clock.Now())
	if err := tx.CreateIdempotencyKey(ctx, r); err != nil {
		if errors.Is(err, parcelguard.ErrDuplicate) {
			return nil, errKeyTaken
		}
		return nil, fmt.Errorf("idempotency key: %w", err)
	}
	return r, nil
}

// StoreIdempotent stores the answer of a request whose claim no write
// made (it wrote nothing, or its writes rolled back): a record straight in
// its final state. It reports taken, storing nothing, when the key is in
// the store already: the request must then be answered as a repeat of the
// one that stored it (BeginIdempotent).
func (s *Service) StoreIdempotent(ctx context.Context, c *IdempotencyClaim, status int, response []byte, replayable bool) (taken bool, err error) {
	r := newIdempotencyRecord(c.scope, c.key, c.requestHash, parcelguard.IdempotencyDone, s.clock.Now())
	r.Status, r.Response = status, response
	if !replayable {
		r.State, r.Response = parcelguard.IdempotencyWithheld, nil
	}
	err = s.store.Update(ctx, func(tx parcelguard.Tx) error { return tx.CreateIdempotencyKey(ctx, r) })
	if errors.Is(err, parcelguard.ErrDuplicate) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("store idempotent answer: %w", err)
	}
	return false, nil
}

// IdempotencyKeyStored reports whether c's key is in the store, unexpired:
// a request that wrote nothing and answers "try again" is then a repeat,
// to be answered from the stored record instead.
func (s *Service) IdempotencyKeyStored(ctx context.Context, c *IdempotencyClaim) (bool, error) {
	var r *parcelguard.IdempotencyRecord
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		r, err = tx.IdempotencyKey(ctx, c.scope, c.key)
		return err
	})
	if errors.Is(err, parcelguard.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("idempotency key: %w", err)
	}
	return !r.Expired(s.clock.Now()), nil
}
