package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

func newIdempotencyRecord(scope, key string) *parcelguard.IdempotencyRecord {
	return &parcelguard.IdempotencyRecord{
		Scope:       scope,
		Key:         key,
		RequestHash: codeHash("request " + key),
		State:       parcelguard.IdempotencyInFlight,
		CreatedAt:   t0,
		UpdatedAt:   t0,
		ExpiresAt:   t0.Add(parcelguard.IdempotencyTTL),
	}
}

func testIdempotencyKeys(t *testing.T, open Opener) {
	t.Run("CreateIdempotencyKey", func(t *testing.T) {
		// Ensure a record reads back intact at Version 1, and that the same
		// key in another scope is another record.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			a := newIdempotencyRecord("pgk_aaaaaaaaaaaa", "key-1")
			b := newIdempotencyRecord("pgk_bbbbbbbbbbbb", "key-1")
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				check(tx.CreateIdempotencyKey(ctx, a))
				return tx.CreateIdempotencyKey(ctx, b)
			})
			if a.Version != 1 {
				t.Fatalf("version %d, want 1", a.Version)
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.IdempotencyKey(ctx, a.Scope, a.Key)
				noErr(t, err)
				equal(t, got, a)
				got, err = tx.IdempotencyKey(ctx, b.Scope, b.Key)
				noErr(t, err)
				equal(t, got, b)
				return nil
			})
		})

		// Ensure a second record with the same scope and key is rejected.
		t.Run("ErrDuplicate", func(t *testing.T) {
			s := open(t)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateIdempotencyKey(ctx, newIdempotencyRecord("s", "k"))
			})
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateIdempotencyKey(ctx, newIdempotencyRecord("s", "k"))
			})
			wantErr(t, err, parcelguard.ErrDuplicate)
		})
	})

	t.Run("IdempotencyKey", func(t *testing.T) {
		// Ensure an unknown key is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				_, err := tx.IdempotencyKey(ctx, "s", "nope")
				wantErr(t, err, parcelguard.ErrNotFound)
				return nil
			})
		})
	})

	t.Run("SaveIdempotencyKey", func(t *testing.T) {
		// Ensure completing a record stores the answer and bumps Version.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			r := newIdempotencyRecord("s", "k")
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateIdempotencyKey(ctx, r) })
			r.State, r.Status, r.Response, r.UpdatedAt = parcelguard.IdempotencyDone, 201, []byte(`{"id":"x"}`), t0.Add(time.Second)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveIdempotencyKey(ctx, r) })
			if r.Version != 2 {
				t.Fatalf("version %d, want 2", r.Version)
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.IdempotencyKey(ctx, "s", "k")
				noErr(t, err)
				equal(t, got, r)
				return nil
			})
		})

		// Ensure a stale save conflicts and a save of a missing record is
		// ErrNotFound.
		t.Run("ErrConflict", func(t *testing.T) {
			s := open(t)
			r := newIdempotencyRecord("s", "k")
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateIdempotencyKey(ctx, r) })
			stale := *r
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveIdempotencyKey(ctx, r) })
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveIdempotencyKey(ctx, &stale) })
			wantErr(t, err, parcelguard.ErrConflict)
			err = tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.DeleteIdempotencyKey(ctx, &stale) })
			wantErr(t, err, parcelguard.ErrConflict)
			missing := newIdempotencyRecord("s", "other")
			missing.Version = 1
			err = tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveIdempotencyKey(ctx, missing) })
			wantErr(t, err, parcelguard.ErrNotFound)
		})
	})

	t.Run("DeleteIdempotencyKey", func(t *testing.T) {
		// Ensure a deleted key is gone and can be created again.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			r := newIdempotencyRecord("s", "k")
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateIdempotencyKey(ctx, r) })
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.DeleteIdempotencyKey(ctx, r) })
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				_, err := tx.IdempotencyKey(ctx, "s", "k")
				wantErr(t, err, parcelguard.ErrNotFound)
				return nil
			})
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.DeleteIdempotencyKey(ctx, r) })
			wantErr(t, err, parcelguard.ErrNotFound)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateIdempotencyKey(ctx, newIdempotencyRecord("s", "k"))
			})
		})
	})

	t.Run("DeleteExpiredIdempotencyKeys", func(t *testing.T) {
		// Ensure only records expired at now go, at most limit at a time.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for i, key := range []string{"a", "b", "c", "d"} {
					r := newIdempotencyRecord("s", key)
					r.ExpiresAt = t0.Add(time.Duration(i) * time.Hour)
					check(tx.CreateIdempotencyKey(ctx, r))
				}
				return nil
			})
			var n1, n2 int
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
				n1, err = tx.DeleteExpiredIdempotencyKeys(ctx, t0.Add(2*time.Hour), 2)
				return err
			})
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
				n2, err = tx.DeleteExpiredIdempotencyKeys(ctx, t0.Add(2*time.Hour), 10)
				return err
			})
			if n1 != 2 || n2 != 1 {
				t.Fatalf("deleted %d then %d, want 2 then 1", n1, n2)
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				_, err := tx.IdempotencyKey(ctx, "s", "d")
				noErr(t, err)
				_, err = tx.IdempotencyKey(ctx, "s", "c")
				wantErr(t, err, parcelguard.ErrNotFound)
				return nil
			})
		})
	})
}
