package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

func newAccount(id, username string, role parcelguard.Role, carrierID string) *parcelguard.Account {
	return &parcelguard.Account{ID: id, Username: username, Name: "Name of " + username, Role: role, CarrierID: carrierID,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", CreatedAt: t0}
}

func testAccounts(t *testing.T, open Opener) {
	t.Run("CreateAccount", func(t *testing.T) {
		// Ensure an account reads back by id and by name with every field
		// intact, a courier keeps its carrier, and a taken name is a duplicate.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			op := newAccount("acc-1", "olga", parcelguard.RoleOperator, "")
			cou := newAccount("acc-2", "kurt", parcelguard.RoleCourier, w.carrier.ID)
			cou.DisabledAt = t0.Add(time.Hour)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				check(tx.CreateAccount(ctx, op))
				return tx.CreateAccount(ctx, cou)
			})
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Account(ctx, "acc-1")
				noErr(t, err)
				equal(t, got, op)
				got, err = tx.AccountByUsername(ctx, "kurt")
				noErr(t, err)
				equal(t, got, cou)
				_, err = tx.AccountByUsername(ctx, "nobody")
				wantErr(t, err, parcelguard.ErrNotFound)
				return nil
			})
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateAccount(ctx, newAccount("acc-3", "olga", parcelguard.RoleAdmin, ""))
			})
			wantErr(t, err, parcelguard.ErrDuplicate)
		})
		// Ensure a courier cannot belong to a carrier that does not exist.
		t.Run("ErrUnknownCarrier", func(t *testing.T) {
			s := open(t)
			seed(t, s)
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateAccount(ctx, newAccount("acc-9", "ghost", parcelguard.RoleCourier, "car-none"))
			})
			wantErr(t, err, parcelguard.ErrNotFound)
		})
	})

	t.Run("Session", func(t *testing.T) {
		// Ensure a session is found by its token hash, touched, deleted,
		// and purged once past its absolute expiry.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			seed(t, s)
			a := newAccount("acc-1", "olga", parcelguard.RoleOperator, "")
			live := &parcelguard.Session{TokenHash: []byte("hash-live-0123456789abcdef012345"), AccountID: a.ID, CreatedAt: t0,
				LastSeenAt: t0, ExpiresAt: t0.Add(parcelguard.SessionLifetime)}
			old := &parcelguard.Session{TokenHash: []byte("hash-old-0123456789abcdef0123456"), AccountID: a.ID, CreatedAt: t0,
				LastSeenAt: t0, ExpiresAt: t0.Add(time.Minute)}
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				check(tx.CreateAccount(ctx, a))
				check(tx.CreateSession(ctx, live))
				return tx.CreateSession(ctx, old)
			})
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.TouchSession(ctx, live.TokenHash, t0.Add(5*time.Minute))
			})
			live.LastSeenAt = t0.Add(5 * time.Minute)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Session(ctx, live.TokenHash)
				noErr(t, err)
				equal(t, got, live)
				_, err = tx.Session(ctx, []byte("no-such-hash"))
				wantErr(t, err, parcelguard.ErrNotFound)
				return nil
			})
			var n int
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
				n, err = tx.DeleteExpiredSessions(ctx, t0.Add(time.Minute))
				return err
			})
			if n != 1 {
				t.Fatalf("purged %d sessions, want 1", n)
			}
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				check(tx.DeleteSession(ctx, live.TokenHash))
				return tx.DeleteSession(ctx, live.TokenHash) // a second delete is no error
			})
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for _, h := range [][]byte{live.TokenHash, old.TokenHash} {
					_, err := tx.Session(ctx, h)
					wantErr(t, err, parcelguard.ErrNotFound)
				}
				return nil
			})
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.TouchSession(ctx, live.TokenHash, t0)
			})
			wantErr(t, err, parcelguard.ErrNotFound)
		})
	})

	t.Run("SignInGuard", func(t *testing.T) {
		// Ensure a new key reads as a zero guard, saves insert then update
		// with every field intact, and a stale version conflicts.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			seed(t, s)
			var g *parcelguard.SignInGuard
			for i := range parcelguard.SignInFreeFailures + 2 {
				update(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
					g, err = tx.SignInGuard(ctx, "user:olga")
					check(err)
					g.Fail(t0.Add(time.Duration(i) * time.Second))
					return tx.SaveSignInGuard(ctx, g)
				})
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.SignInGuard(ctx, "user:olga")
				noErr(t, err)
				equal(t, got, g)
				zero, err := tx.SignInGuard(ctx, "user:nobody")
				noErr(t, err)
				equal(t, zero, &parcelguard.SignInGuard{Key: "user:nobody"})
				return nil
			})
			if g.Version != int64(parcelguard.SignInFreeFailures+2) || g.Blocked(g.LastFailure) != 2*parcelguard.SignInBaseDelay {
				t.Fatalf("guard after %d failures: %+v", parcelguard.SignInFreeFailures+2, g)
			}
			stale := *g
			stale.Version--
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveSignInGuard(ctx, &stale) })
			wantErr(t, err, parcelguard.ErrConflict)
			fresh := parcelguard.SignInGuard{Key: "user:olga", Failures: 1}
			err = tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveSignInGuard(ctx, &fresh) })
			wantErr(t, err, parcelguard.ErrConflict)
		})
	})
}
