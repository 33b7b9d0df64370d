package storetest

import (
	"context"
	"testing"

	"github.com/parcelguard/parcelguard"
)

func testCarriers(t *testing.T, open Opener) {
	t.Run("CreateCarrier", func(t *testing.T) {
		// Ensure a created carrier reads back with every field intact,
		// including a false PhoneFactor and a zero StoragePeriod.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			want := newCarrier("car-1")
			plain := &parcelguard.Carrier{ID: "car-2", Name: "Plain", CreatedAt: t0}
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				check(tx.CreateCarrier(ctx, want))
				return tx.CreateCarrier(ctx, plain)
			})
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Carrier(ctx, "car-1")
				noErr(t, err)
				equal(t, got, want)
				got, err = tx.Carrier(ctx, "car-2")
				noErr(t, err)
				equal(t, got, plain)
				return nil
			})
		})

		// Ensure a second carrier with the same id is rejected.
		t.Run("ErrDuplicate", func(t *testing.T) {
			s := open(t)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateCarrier(ctx, newCarrier("car-1")) })
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateCarrier(ctx, newCarrier("car-1")) })
			wantErr(t, err, parcelguard.ErrDuplicate)
		})
	})

	t.Run("Carrier", func(t *testing.T) {
		// Ensure an unknown carrier id is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				_, err := tx.Carrier(ctx, "nope")
				wantErr(t, err, parcelguard.ErrNotFound)
				return nil
			})
		})
	})
}
