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

	t.Run("Manage", func(t *testing.T) {
		// Ensure accounts list in user name order, filtered by role and
		// carrier and paged by the name cursor; disabling and enabling
		// keep every other field; ending an account's sessions removes
		// those and no other account's.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			accts := []*parcelguard.Account{
				newAccount("acc-1", "olga", parcelguard.RoleOperator, ""),
				newAccount("acc-2", "kurt", parcelguard.RoleCourier, w.carrier.ID),
				newAccount("acc-3", "ada", parcelguard.RoleAdmin, ""),
				newAccount("acc-4", "berta", parcelguard.RoleCourier, w.carrier.ID),
			}
			sess := func(name string, acct string) *parcelguard.Session {
				return &parcelguard.Session{TokenHash: []byte("hash-" + name + "-0123456789abcdef0123456789"), AccountID: acct,
					CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(parcelguard.SessionLifetime)}
			}
			k1, k2, o1 := sess("k1", "acc-2"), sess("k2", "acc-2"), sess("o1", "acc-1")
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for _, a := range accts {
					check(tx.CreateAccount(ctx, a))
				}
				check(tx.CreateSession(ctx, k1))
				check(tx.CreateSession(ctx, k2))
				return tx.CreateSession(ctx, o1)
			})
			names := func(as []*parcelguard.Account) []string {
				var out []string
				for _, a := range as {
					out = append(out, a.Username)
				}
				return out
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				all, err := tx.Accounts(ctx, parcelguard.AccountFilter{})
				noErr(t, err)
				equal(t, names(all), []string{"ada", "berta", "kurt", "olga"})
				equal(t, all[2], accts[1])
				couriers, err := tx.Accounts(ctx, parcelguard.AccountFilter{Role: parcelguard.RoleCourier, CarrierID: w.carrier.ID})
				noErr(t, err)
				equal(t, names(couriers), []string{"berta", "kurt"})
				none, err := tx.Accounts(ctx, parcelguard.AccountFilter{CarrierID: "car-none"})
				noErr(t, err)
				equal(t, len(none), 0)
				page, err := tx.Accounts(ctx, parcelguard.AccountFilter{After: "berta", Limit: 1})
				noErr(t, err)
				equal(t, names(page), []string{"kurt"})
				return nil
			})
			var n int
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
				check(tx.SetAccountDisabled(ctx, "acc-2", t0.Add(time.Hour)))
				n, err = tx.DeleteAccountSessions(ctx, "acc-2")
				return err
			})
			if n != 2 {
				t.Fatalf("ended %d sessions, want 2", n)
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Account(ctx, "acc-2")
				noErr(t, err)
				want := *accts[1]
				want.DisabledAt = t0.Add(time.Hour)
				equal(t, got, &want)
				if !got.Disabled() {
					t.Error("disabled account reads as enabled")
				}
				for _, h := range [][]byte{k1.TokenHash, k2.TokenHash} {
					_, err := tx.Session(ctx, h)
					wantErr(t, err, parcelguard.ErrNotFound)
				}
				_, err = tx.Session(ctx, o1.TokenHash)
				noErr(t, err)
				return nil
			})
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.SetAccountDisabled(ctx, "acc-2", time.Time{})
			})
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Account(ctx, "acc-2")
				noErr(t, err)
				equal(t, got, accts[1])
				return nil
			})
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
				n, err = tx.DeleteAccountSessions(ctx, "acc-3") // none: no error
				return err
			})
			if n != 0 {
				t.Fatalf("ended %d sessions of an account without any", n)
			}
		})
		// Ensure disabling an account that does not exist is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			seed(t, s)
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.SetAccountDisabled(ctx, "acc-none", t0)
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
