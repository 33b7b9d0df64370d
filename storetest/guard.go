package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

func testLockerGuards(t *testing.T, open Opener) {
	t.Run("LockerGuard", func(t *testing.T) {
		// Ensure a site without a saved guard gets a zero guard at Version 0.
		t.Run("Zero", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.LockerGuard(ctx, w.site.ID)
				noErr(t, err)
				equal(t, got, &parcelguard.LockerGuard{SiteID: w.site.ID})
				return nil
			})
		})
	})

	t.Run("SaveLockerGuard", func(t *testing.T) {
		// Ensure the first save inserts and later saves update, each
		// bumping Version, with every field intact.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			var g *parcelguard.LockerGuard
			for i := range parcelguard.GuardAlarmAt {
				update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
					var err error
					g, err = tx.LockerGuard(ctx, w.site.ID)
					check(err)
					g.Fail(t0.Add(time.Duration(i) * time.Second))
					return tx.SaveLockerGuard(ctx, g)
				})
			}
			if g.Version != parcelguard.GuardAlarmAt || g.Failures != parcelguard.GuardAlarmAt || !g.Alarmed || g.SlowUntil.IsZero() {
				t.Fatalf("after %d failures: %+v", parcelguard.GuardAlarmAt, g)
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.LockerGuard(ctx, w.site.ID)
				noErr(t, err)
				equal(t, got, g)
				return nil
			})
		})

		// Ensure stale saves conflict, the first insert included: two
		// sessions that both saw no guard cannot both create it.
		t.Run("ErrConflict", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			a := &parcelguard.LockerGuard{SiteID: w.site.ID}
			b := *a
			a.Fail(t0)
			b.Fail(t0)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveLockerGuard(ctx, a) })
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveLockerGuard(ctx, &b) })
			wantErr(t, err, parcelguard.ErrConflict)

			stale := *a
			a.Fail(t0.Add(time.Second))
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveLockerGuard(ctx, a) })
			stale.Fail(t0.Add(2 * time.Second))
			err = tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveLockerGuard(ctx, &stale) })
			wantErr(t, err, parcelguard.ErrConflict)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.LockerGuard(ctx, w.site.ID)
				noErr(t, err)
				equal(t, got, a)
				return nil
			})
		})
	})
}
