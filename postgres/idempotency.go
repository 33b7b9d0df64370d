package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
)

const idempotencyColumns = `scope, key, request_hash, state, status, response, created_at, updated_at, expires_at, version`

// CreateIdempotencyKey inserts r at Version 1; an existing scope and key is
// ErrDuplicate (a concurrent insert of the same key waits for the first to
// commit or roll back, then fails or goes ahead).
func (t *tx) CreateIdempotencyKey(ctx context.Context, r *parcelguard.IdempotencyRecord) error {
	_, err := t.exec(ctx, `INSERT INTO idempotency_keys (`+idempotencyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)`,
		r.Scope, r.Key, r.RequestHash, string(r.State), r.Status, nullBytes(r.Response),
		nanos(r.CreatedAt), nanos(r.UpdatedAt), nanos(r.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create idempotency key: %w", dbErr(err))
	}
	r.Version = 1
	return nil
}

// IdempotencyKey returns the record of scope and key.
func (t *tx) IdempotencyKey(ctx context.Context, scope, key string) (*parcelguard.IdempotencyRecord, error) {
	var (
		r                         parcelguard.IdempotencyRecord
		state                     string
		created, updated, expires int64
	)
	err := t.queryRow(ctx, `SELECT `+idempotencyColumns+` FROM idempotency_keys WHERE scope = $1 AND key = $2`,
		[]any{scope, key}, &r.Scope, &r.Key, &r.RequestHash, &state, &r.Status, &r.Response, &created, &updated, &expires, &r.Version)
	if err != nil {
		// The key is the client's; keep it out of the error text.
		return nil, fmt.Errorf("get idempotency key: %w", dbErr(err))
	}
	r.State = parcelguard.IdempotencyState(state)
	r.RequestHash, r.Response = bytesOrNil(r.RequestHash), bytesOrNil(r.Response)
	r.CreatedAt, r.UpdatedAt, r.ExpiresAt = fromNanos(created), fromNanos(updated), fromNanos(expires)
	return &r, nil
}

// The checked writes (see checked) of a record: a save and a delete, each
// of the Version read.
var (
	saveIdempotency = checkedWhere(`UPDATE idempotency_keys SET request_hash = $1, state = $2, status = $3,
		response = $4, created_at = $5, updated_at = $6, expires_at = $7, version = version + 1
		WHERE scope = $8 AND key = $9 AND version = $10`, "idempotency_keys", "scope = $8 AND key = $9", existsIsConflict)
	deleteIdempotency = checkedWhere(`DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND version = $3`,
		"idempotency_keys", "scope = $1 AND key = $2", existsIsConflict)
)

// SaveIdempotencyKey updates r if its Version is current and bumps it. The
// write goes with the next statement or the COMMIT (storing a request's
// answer is then one round trip), where a stale Version fails the
// transaction with ErrConflict and a missing record with ErrNotFound. The
// messages leave the client's key out.
func (t *tx) SaveIdempotencyKey(_ context.Context, r *parcelguard.IdempotencyRecord) error {
	v := r.Version
	t.laterChecked("save idempotency key", saveIdempotency, func() { r.Version = v },
		r.RequestHash, string(r.State), r.Status, nullBytes(r.Response),
		nanos(r.CreatedAt), nanos(r.UpdatedAt), nanos(r.ExpiresAt), r.Scope, r.Key, r.Version)
	r.Version++
	return nil
}

// DeleteIdempotencyKey deletes r if its Version is current; like
// SaveIdempotencyKey it goes with the next statement or the COMMIT.
func (t *tx) DeleteIdempotencyKey(_ context.Context, r *parcelguard.IdempotencyRecord) error {
	t.laterChecked("delete idempotency key", deleteIdempotency, nil, r.Scope, r.Key, r.Version)
	return nil
}

// DeleteExpiredIdempotencyKeys deletes up to limit records expired at now,
// skipping records another transaction holds (a concurrent sweeper's, or a
// request's that is renewing its key).
func (t *tx) DeleteExpiredIdempotencyKeys(ctx context.Context, now time.Time, limit int) (int, error) {
	n, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE (scope, key) IN (
		SELECT scope, key FROM idempotency_keys WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2
		FOR UPDATE SKIP LOCKED)`,
		now.UnixNano(), limitArg(limit))
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", dbErr(err))
	}
	return int(n), nil
}
