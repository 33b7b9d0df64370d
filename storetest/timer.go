package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

func testTimers(t *testing.T, open Opener) {
	// timers seeds three parcels and returns a timer maker for them.
	timers := func(t *testing.T, s parcelguard.Store) func(id string, kind parcelguard.TimerKind, parcel int, due time.Duration) *parcelguard.Timer {
		w := seed(t, s)
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			check(tx.CreateParcel(ctx, newParcel("par-2", w.carrier.ID, w.site.ID, "TRK-0002")))
			return tx.CreateParcel(ctx, newParcel("par-3", w.carrier.ID, w.site.ID, "TRK-0003"))
		})
		return func(id string, kind parcelguard.TimerKind, parcel int, due time.Duration) *parcelguard.Timer {
			return &parcelguard.Timer{ID: id, Kind: kind, ParcelID: []string{"par-1", "par-2", "par-3"}[parcel-1], DueAt: t0.Add(due)}
		}
	}
	schedule := func(t *testing.T, s parcelguard.Store, ts ...*parcelguard.Timer) {
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			for _, tm := range ts {
				check(tx.ScheduleTimer(ctx, tm))
			}
			return nil
		})
	}
	due := func(t *testing.T, s parcelguard.Store, now time.Time, limit int) (out []*parcelguard.Timer) {
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
			out, err = tx.DueTimers(ctx, now, limit)
			return err
		})
		return out
	}

	t.Run("ScheduleTimer", func(t *testing.T) {
		// Ensure a scheduled timer reads back intact, and a second timer of
		// the same kind for the same parcel replaces the first.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			mk := timers(t, s)
			first := mk("tm-1", parcelguard.TimerExpiry, 1, time.Hour)
			reminder := mk("tm-2", parcelguard.TimerReminder, 1, 30*time.Minute)
			schedule(t, s, first, reminder)
			equal(t, due(t, s, t0.Add(time.Hour), 0), []*parcelguard.Timer{reminder, first})

			moved := mk("tm-3", parcelguard.TimerExpiry, 1, 2*time.Hour)
			schedule(t, s, moved)
			equal(t, due(t, s, t0.Add(24*time.Hour), 0), []*parcelguard.Timer{reminder, moved})
		})
	})

	t.Run("DueTimers", func(t *testing.T) {
		// Ensure only timers due at or before now come back, oldest first,
		// at most limit of them.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			mk := timers(t, s)
			t1 := mk("tm-1", parcelguard.TimerExpiry, 1, 3*time.Hour)
			t2 := mk("tm-2", parcelguard.TimerExpiry, 2, 1*time.Hour)
			t3 := mk("tm-3", parcelguard.TimerExpiry, 3, 2*time.Hour)
			t4 := mk("tm-4", parcelguard.TimerReminder, 2, 5*time.Hour)
			schedule(t, s, t1, t2, t3, t4)
			equal(t, due(t, s, t0, 10), []*parcelguard.Timer(nil))
			equal(t, due(t, s, t0.Add(2*time.Hour), 10), []*parcelguard.Timer{t2, t3})
			equal(t, due(t, s, t0.Add(24*time.Hour), 10), []*parcelguard.Timer{t2, t3, t1, t4})
			equal(t, due(t, s, t0.Add(24*time.Hour), 3), []*parcelguard.Timer{t2, t3, t1})
		})
	})

	t.Run("ClaimTimer", func(t *testing.T) {
		// Ensure a timer is claimed once: the first claim deletes it and
		// reports true, later claims report false.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			mk := timers(t, s)
			schedule(t, s, mk("tm-1", parcelguard.TimerExpiry, 1, time.Hour))
			for i, want := range []bool{true, false} {
				update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
					ok, err := tx.ClaimTimer(ctx, "tm-1")
					check(err)
					if ok != want {
						check(fmt.Errorf("claim %d = %v, want %v", i+1, ok, want))
					}
					return nil
				})
			}
			equal(t, due(t, s, t0.Add(24*time.Hour), 0), []*parcelguard.Timer(nil))
		})

		// Ensure a claim rolled back with its transaction leaves the timer.
		t.Run("Rollback", func(t *testing.T) {
			s := open(t)
			mk := timers(t, s)
			tm := mk("tm-1", parcelguard.TimerExpiry, 1, time.Hour)
			schedule(t, s, tm)
			errBoom := parcelguard.Errorf(parcelguard.EINTERNAL, "boom")
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				ok, err := tx.ClaimTimer(ctx, "tm-1")
				check(err)
				if !ok {
					check(errors.New("claim failed"))
				}
				return errBoom
			})
			wantErr(t, err, errBoom)
			equal(t, due(t, s, t0.Add(24*time.Hour), 0), []*parcelguard.Timer{tm})
		})
	})

	t.Run("CancelTimers", func(t *testing.T) {
		// Ensure cancelling removes the parcel's timers of the given kinds,
		// or all of them, and nobody else's.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			mk := timers(t, s)
			e1 := mk("tm-e1", parcelguard.TimerExpiry, 1, time.Hour)
			r1 := mk("tm-r1", parcelguard.TimerReminder, 1, 2*time.Hour)
			e2 := mk("tm-e2", parcelguard.TimerExpiry, 2, 3*time.Hour)
			r2 := mk("tm-r2", parcelguard.TimerReminder, 2, 4*time.Hour)
			schedule(t, s, e1, r1, e2, r2)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CancelTimers(ctx, "par-1", parcelguard.TimerReminder)
			})
			equal(t, due(t, s, t0.Add(24*time.Hour), 0), []*parcelguard.Timer{e1, e2, r2})
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CancelTimers(ctx, "par-2")
			})
			equal(t, due(t, s, t0.Add(24*time.Hour), 0), []*parcelguard.Timer{e1})
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CancelTimers(ctx, "par-1", parcelguard.TimerReminder, parcelguard.TimerExpiry)
			})
			equal(t, due(t, s, t0.Add(24*time.Hour), 0), []*parcelguard.Timer(nil))
		})
	})

	t.Run("NextTimer", func(t *testing.T) {
		// Ensure NextTimer is zero without timers, else the earliest due time.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			mk := timers(t, s)
			next := func() (at time.Time) {
				view(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
					at, err = tx.NextTimer(ctx)
					return err
				})
				return at
			}
			if at := next(); !at.IsZero() {
				t.Fatalf("NextTimer without timers = %v, want zero", at)
			}
			schedule(t, s, mk("tm-1", parcelguard.TimerExpiry, 1, 3*time.Hour), mk("tm-2", parcelguard.TimerExpiry, 2, time.Hour))
			if at := next(); !at.Equal(t0.Add(time.Hour)) {
				t.Fatalf("NextTimer = %v, want %v", at, t0.Add(time.Hour))
			}
		})
	})
}
