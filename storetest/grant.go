package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

func testGrants(t *testing.T, open Opener) {
	t.Run("CreateGrant", func(t *testing.T) {
		// Ensure a created grant gets Version 1 and reads back intact,
		// including its hashes and a grant without phone factor.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			g := newGrant("gr-1", w.parcel.ID, w.site.ID, w.compartment.ID, parcelguard.PurposePickup, "123456")
			bare := newGrant("gr-2", w.parcel.ID, w.site.ID, "", parcelguard.PurposeDeposit, "654321")
			bare.PhoneHash, bare.CodeSealed, bare.NotBefore = nil, nil, time.Time{}
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				check(tx.CreateGrant(ctx, g))
				return tx.CreateGrant(ctx, bare)
			})
			if g.Version != 1 {
				t.Fatalf("Version = %d after create, want 1", g.Version)
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for _, want := range []*parcelguard.Grant{g, bare} {
					got, err := tx.Grant(ctx, want.ID)
					noErr(t, err)
					equal(t, got, want)
				}
				return nil
			})
		})

		// Ensure a second grant with the same id is rejected.
		t.Run("ErrDuplicate", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateGrant(ctx, newGrant("gr-1", w.parcel.ID, w.site.ID, "", parcelguard.PurposePickup, "1"))
			})
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateGrant(ctx, newGrant("gr-1", w.parcel.ID, w.site.ID, "", parcelguard.PurposePickup, "2"))
			})
			wantErr(t, err, parcelguard.ErrDuplicate)
		})

		// Ensure a PIN is unique among the active grants of a site for a
		// purpose, but may repeat at another site, for another purpose, or
		// once the earlier grant is no longer active.
		t.Run("ErrDuplicateActiveCode", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			first := newGrant("gr-1", w.parcel.ID, w.site.ID, "", parcelguard.PurposePickup, "111111")
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateGrant(ctx, first) })

			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateGrant(ctx, newGrant("gr-2", w.parcel.ID, w.site.ID, "", parcelguard.PurposePickup, "111111"))
			})
			wantErr(t, err, parcelguard.ErrDuplicate)

			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				check(tx.CreateGrant(ctx, newGrant("gr-3", w.parcel.ID, w.site2.ID, "", parcelguard.PurposePickup, "111111")))
				check(tx.CreateGrant(ctx, newGrant("gr-4", w.parcel.ID, w.site.ID, "", parcelguard.PurposeDeposit, "111111")))
				used := newGrant("gr-5", w.parcel.ID, w.site.ID, "", parcelguard.PurposePickup, "111111")
				used.State = parcelguard.GrantUsed
				return tx.CreateGrant(ctx, used)
			})

			// Once the first is used, the PIN is free again.
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				g, err := tx.Grant(ctx, first.ID)
				check(err)
				check(g.Use(t0.Add(time.Hour)))
				check(tx.SaveGrant(ctx, g))
				return tx.CreateGrant(ctx, newGrant("gr-6", w.parcel.ID, w.site.ID, "", parcelguard.PurposePickup, "111111"))
			})

			// Nor may a save make a second grant active under the PIN.
			err = tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				g, err := tx.Grant(ctx, first.ID)
				check(err)
				g.State = parcelguard.GrantActive
				return tx.SaveGrant(ctx, g)
			})
			wantErr(t, err, parcelguard.ErrDuplicate)
		})

		// Ensure a grant of an unknown parcel is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateGrant(ctx, newGrant("gr-1", "no-parcel", w.site.ID, "", parcelguard.PurposePickup, "1"))
			})
			wantErr(t, err, parcelguard.ErrNotFound)
		})
	})

	t.Run("Grant", func(t *testing.T) {
		// Ensure an unknown grant id is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				_, err := tx.Grant(ctx, "nope")
				wantErr(t, err, parcelguard.ErrNotFound)
				return nil
			})
		})
	})

	t.Run("ActiveGrantsByCode", func(t *testing.T) {
		// Ensure a lookup with one hash per key id finds exactly the active
		// grants of the site and purpose under any of the hashes.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			oldKey := newGrant("gr-old", w.parcel.ID, w.site.ID, "", parcelguard.PurposePickup, "k0:4242")
			newKey := newGrant("gr-new", w.parcel.ID, w.site.ID, "", parcelguard.PurposePickup, "k1:4242")
			newKey.KeyID = "k2"
			used := newGrant("gr-used", w.parcel.ID, w.site.ID, "", parcelguard.PurposePickup, "k1:4242")
			used.State = parcelguard.GrantUsed
			otherSite := newGrant("gr-site2", w.parcel.ID, w.site2.ID, "", parcelguard.PurposePickup, "k1:4242")
			otherPurpose := newGrant("gr-dep", w.parcel.ID, w.site.ID, "", parcelguard.PurposeDeposit, "k1:4242")
			unrelated := newGrant("gr-zz", w.parcel.ID, w.site.ID, "", parcelguard.PurposePickup, "k1:9999")
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for _, g := range []*parcelguard.Grant{oldKey, newKey, used, otherSite, otherPurpose, unrelated} {
					check(tx.CreateGrant(ctx, g))
				}
				return nil
			})
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.ActiveGrantsByCode(ctx, w.site.ID, parcelguard.PurposePickup,
					[][]byte{codeHash("k0:4242"), codeHash("k1:4242"), codeHash("k9:4242")})
				noErr(t, err)
				sortGrants(got)
				equal(t, got, []*parcelguard.Grant{newKey, oldKey})

				got, err = tx.ActiveGrantsByCode(ctx, w.site.ID, parcelguard.PurposePickup, [][]byte{codeHash("0000")})
				noErr(t, err)
				if len(got) != 0 {
					t.Fatalf("found %d grants for an unknown code", len(got))
				}
				return nil
			})
		})
	})

	t.Run("GrantsOfParcel", func(t *testing.T) {
		// Ensure every grant of the parcel, in any state, and only those,
		// come back.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			other := newParcel("par-2", w.carrier.ID, w.site.ID, "TRK-0002")
			a := newGrant("gr-a", w.parcel.ID, w.site.ID, "", parcelguard.PurposeDeposit, "1")
			b := newGrant("gr-b", w.parcel.ID, w.site.ID, "", parcelguard.PurposePickup, "2")
			b.State, b.CreatedAt = parcelguard.GrantExpired, t0.Add(time.Hour)
			c := newGrant("gr-c", other.ID, w.site.ID, "", parcelguard.PurposePickup, "3")
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				check(tx.CreateParcel(ctx, other))
				for _, g := range []*parcelguard.Grant{b, a, c} {
					check(tx.CreateGrant(ctx, g))
				}
				return nil
			})
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.GrantsOfParcel(ctx, w.parcel.ID)
				noErr(t, err)
				sortGrants(got)
				equal(t, got, []*parcelguard.Grant{a, b})
				got, err = tx.GrantsOfParcel(ctx, "no-parcel")
				noErr(t, err)
				if len(got) != 0 {
					t.Fatalf("found %d grants of an unknown parcel", len(got))
				}
				return nil
			})
		})
	})

	t.Run("SaveGrant", func(t *testing.T) {
		// Ensure a save persists every field and bumps Version.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			g := newGrant("gr-1", w.parcel.ID, w.site.ID, w.compartment.ID, parcelguard.PurposePickup, "123456")
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateGrant(ctx, g) })
			g.Fail()
			noErr(t, g.Use(t0.Add(time.Hour)))
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveGrant(ctx, g) })
			if g.Version != 2 {
				t.Fatalf("Version = %d after save, want 2", g.Version)
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Grant(ctx, g.ID)
				noErr(t, err)
				equal(t, got, g)
				return nil
			})
		})

		// Ensure a grant cannot be used twice through stale copies: the
		// second save is ErrConflict.
		t.Run("ErrConflict", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			g := newGrant("gr-1", w.parcel.ID, w.site.ID, "", parcelguard.PurposePickup, "123456")
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateGrant(ctx, g) })
			first, second := *g, *g
			noErr(t, first.Use(t0.Add(time.Hour)))
			noErr(t, second.Use(t0.Add(time.Hour)))
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveGrant(ctx, &first) })
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveGrant(ctx, &second) })
			wantErr(t, err, parcelguard.ErrConflict)
		})

		// Ensure saving a grant that does not exist is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			g := newGrant("ghost", w.parcel.ID, w.site.ID, "", parcelguard.PurposePickup, "1")
			g.Version = 1
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveGrant(ctx, g) })
			wantErr(t, err, parcelguard.ErrNotFound)
		})
	})
}
