package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
)

const idempotencyColumns = `scope, key, request_hash, state, status, response, created_at, updated_at, expires_at, version`

// CreateIdempotencyKey inserts r at Version 1.
func (t *tx) CreateIdempotencyKey(ctx context.Context, r *parcelguard.IdempotencyRecord) error {
	_, err := t.exec(ctx, `INSERT INTO idempotency_keys (`+idempotencyColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
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
		created, updated, expires int64
	)
	err := t.queryRow(ctx, `SELECT `+idempotencyColumns+` FROM idempotency_keys WHERE scope = ? AND key = ?`, scope, key).
		Scan(&r.Scope, &r.Key, &r.RequestHash, &r.State, &r.Status, &r.Response, &created, &updated, &expires, &r.Version)
	if err != nil {
		// The key is the client's; keep it out of the error text.
		return nil, fmt.Errorf("get idempotency key: %w", dbErr(err))
	}
	r.RequestHash, r.Response = bytesOrNil(r.RequestHash), bytesOrNil(r.Response)
	r.CreatedAt, r.UpdatedAt, r.ExpiresAt = fromNanos(created), fromNanos(updated), fromNanos(expires)
	return &r, nil
}

// SaveIdempotencyKey updates r if its Version is current and bumps it.
func (t *tx) SaveIdempotencyKey(ctx context.Context, r *parcelguard.IdempotencyRecord) error {
	res, err := t.exec(ctx, `UPDATE idempotency_keys SET request_hash = ?, state = ?, status = ?, response = ?,
		created_at = ?, updated_at = ?, expires_at = ?, version = version + 1
		WHERE scope = ? AND key = ? AND version = ?`,
		r.RequestHash, string(r.State), r.Status, nullBytes(r.Response),
		nanos(r.CreatedAt), nanos(r.UpdatedAt), nanos(r.ExpiresAt), r.Scope, r.Key, r.Version)
	if err := t.checkIdempotency(ctx, res, err, r); err != nil {
		return fmt.Errorf("save idempotency key: %w", err)
	}
	r.Version++
	return nil
}

// DeleteIdempotencyKey deletes r if its Version is current.
func (t *tx) DeleteIdempotencyKey(ctx context.Context, r *parcelguard.IdempotencyRecord) error {
	res, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND version = ?`,
		r.Scope, r.Key, r.Version)
	if err := t.checkIdempotency(ctx, res, err, r); err != nil {
		return fmt.Errorf("delete idempotency key: %w", err)
	}
	return nil
}

// checkIdempotency tells a missing record from a stale version after a
// versioned statement matched nothing (the key is two columns, so
// checkSaved does not fit).
func (t *tx) checkIdempotency(ctx context.Context, res interface{ RowsAffected() (int64, error) }, err error, r *parcelguard.IdempotencyRecord) error {
	if err != nil {
		return dbErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	var one int
	err = t.queryRow(ctx, `SELECT 1 FROM idempotency_keys WHERE scope = ? AND key = ?`, r.Scope, r.Key).Scan(&one)
	if err != nil {
		return dbErr(err) // ErrNotFound for no row
	}
	return parcelguard.ErrConflict
}

// DeleteExpiredIdempotencyKeys deletes up to limit records expired at now.
func (t *tx) DeleteExpiredIdempotencyKeys(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE rowid IN (
		SELECT rowid FROM idempotency_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
		now.UnixNano(), limitArg(limit))
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", dbErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", err)
	}
	return int(n), nil
}
