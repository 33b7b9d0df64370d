package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

func testAPIKeys(t *testing.T, open Opener) {
	t.Run("CreateAPIKey", func(t *testing.T) {
		// Ensure created keys read back intact: an unbound admin key, a
		// carrier key, and a revoked kiosk key.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			keys := []*parcelguard.APIKey{
				{Prefix: "pgk_admin001", SecretHash: codeHash("a"), Role: parcelguard.RoleAdmin, Name: "root", CreatedAt: t0},
				{Prefix: "pgk_carr0001", SecretHash: codeHash("c"), Role: parcelguard.RoleCarrier, CarrierID: w.carrier.ID, Name: "api", CreatedAt: t0},
				{Prefix: "pgk_kiosk001", SecretHash: codeHash("k"), Role: parcelguard.RoleKiosk, SiteID: w.site.ID, CreatedAt: t0, RevokedAt: t0.Add(time.Hour)},
			}
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for _, k := range keys {
					check(tx.CreateAPIKey(ctx, k))
				}
				return nil
			})
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for _, want := range keys {
					got, err := tx.APIKey(ctx, want.Prefix)
					noErr(t, err)
					equal(t, got, want)
				}
				return nil
			})
		})

		// Ensure a second key with the same prefix is rejected.
		t.Run("ErrDuplicate", func(t *testing.T) {
			s := open(t)
			k := &parcelguard.APIKey{Prefix: "pgk_admin001", SecretHash: codeHash("a"), Role: parcelguard.RoleAdmin, CreatedAt: t0}
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateAPIKey(ctx, k) })
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateAPIKey(ctx, k) })
			wantErr(t, err, parcelguard.ErrDuplicate)
		})
	})

	t.Run("APIKey", func(t *testing.T) {
		// Ensure an unknown prefix is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				_, err := tx.APIKey(ctx, "pgk_nope")
				wantErr(t, err, parcelguard.ErrNotFound)
				return nil
			})
		})
	})
}
