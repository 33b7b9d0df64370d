package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

func testOutage(t *testing.T, open Opener) {
	t.Run("LockerStatus", func(t *testing.T) {
		// Ensure a site without a saved status reads as a zero status, and
		// that saves insert, update, bump Version and keep every field.
		t.Run("RoundTrip", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			var st *parcelguard.LockerStatus
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				var err error
				st, err = tx.LockerStatus(ctx, w.site.ID)
				noErr(t, err)
				equal(t, st, &parcelguard.LockerStatus{SiteID: w.site.ID})
				return nil
			})
			st.LastSeen = t0
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveLockerStatus(ctx, st) })
			st.Unreachable, st.UnreachableSince = true, t0
			st.OutOfService, st.OutOfServiceSince, st.OutOfServiceNote = true, t0.Add(time.Minute), "door bank vandalised"
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveLockerStatus(ctx, st) })
			if st.Version != 2 {
				t.Fatalf("version %d after two saves", st.Version)
			}
			other := &parcelguard.LockerStatus{SiteID: w.site2.ID, LastSeen: t0.Add(time.Hour)}
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveLockerStatus(ctx, other) })
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.LockerStatus(ctx, w.site.ID)
				noErr(t, err)
				equal(t, got, st)
				all, err := tx.LockerStatuses(ctx)
				noErr(t, err)
				equal(t, all, []*parcelguard.LockerStatus{st, other})
				return nil
			})
		})

		// Ensure stale saves conflict, the first insert included, so two
		// heartbeats racing cannot lose an unreachable flag.
		t.Run("ErrConflict", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			a := &parcelguard.LockerStatus{SiteID: w.site.ID, LastSeen: t0}
			b := *a
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveLockerStatus(ctx, a) })
			wantErr(t, tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveLockerStatus(ctx, &b) }),
				parcelguard.ErrConflict)
			stale := *a
			a.Unreachable = true
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveLockerStatus(ctx, a) })
			stale.LastSeen = t0.Add(time.Minute)
			wantErr(t, tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveLockerStatus(ctx, &stale) }),
				parcelguard.ErrConflict)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.LockerStatus(ctx, w.site.ID)
				noErr(t, err)
				equal(t, got, a)
				return nil
			})
		})
	})

	t.Run("BrokenCompartments", func(t *testing.T) {
		// Ensure only out-of-order compartments that hold a parcel are
		// listed: an empty broken one holds nobody's parcel hostage.
		s := open(t)
		w := seed(t, s)
		empty := newCompartment("cmp-2", w.site.ID, "A02", parcelguard.SizeS)
		empty.State = parcelguard.CompartmentOutOfOrder
		occupied := newCompartment("cmp-3", w.site.ID, "A03", parcelguard.SizeS)
		occupied.State, occupied.ParcelID = parcelguard.CompartmentOccupied, w.parcel.ID
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			check(tx.CreateCompartment(ctx, empty))
			return tx.CreateCompartment(ctx, occupied)
		})
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.BrokenCompartments(ctx)
			noErr(t, err)
			equal(t, len(got), 0)
			return nil
		})
		occupied.State = parcelguard.CompartmentOutOfOrder
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveCompartment(ctx, occupied) })
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.BrokenCompartments(ctx)
			noErr(t, err)
			equal(t, got, []*parcelguard.Compartment{occupied})
			return nil
		})
	})

	t.Run("ParcelHold", func(t *testing.T) {
		// Ensure holds round-trip, a second hold of a parcel is a
		// duplicate, and a release returns the hold once.
		t.Run("RoundTrip", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			h := &parcelguard.ParcelHold{ParcelID: w.parcel.ID, SiteID: w.site.ID, CompartmentID: w.compartment.ID,
				Cause: parcelguard.CauseUnreachable, Since: t0, Deadline: t0.Add(48 * time.Hour)}
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.HoldParcel(ctx, h) })
			dup := *h
			dup.Cause = parcelguard.CauseOutOfService
			wantErr(t, tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.HoldParcel(ctx, &dup) }),
				parcelguard.ErrDuplicate)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.ParcelHolds(ctx)
				noErr(t, err)
				equal(t, got, []*parcelguard.ParcelHold{h})
				return nil
			})
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.ReleaseParcel(ctx, h.ParcelID)
				check(err)
				equal(t, got, h)
				again, err := tx.ReleaseParcel(ctx, h.ParcelID)
				check(err)
				if again != nil {
					t.Errorf("second release returned %+v", again)
				}
				return nil
			})
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.ParcelHolds(ctx)
				noErr(t, err)
				equal(t, len(got), 0)
				return nil
			})
		})

		// Ensure a rolled-back release keeps the hold.
		t.Run("Rollback", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			h := &parcelguard.ParcelHold{ParcelID: w.parcel.ID, SiteID: w.site.ID, Cause: parcelguard.CauseCompartment, Since: t0, Deadline: t0}
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.HoldParcel(ctx, h) })
			_ = tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				_, err := tx.ReleaseParcel(ctx, h.ParcelID)
				check(err)
				return context.Canceled
			})
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.ParcelHolds(ctx)
				noErr(t, err)
				equal(t, got, []*parcelguard.ParcelHold{h})
				return nil
			})
		})

		// Ensure of concurrent releases exactly one gets the hold, so a
		// deadline is extended once however many sweepers run.
		t.Run("ConcurrentRelease", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			h := &parcelguard.ParcelHold{ParcelID: w.parcel.ID, SiteID: w.site.ID, Cause: parcelguard.CauseUnreachable, Since: t0, Deadline: t0}
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.HoldParcel(ctx, h) })
			var (
				wg  sync.WaitGroup
				mu  sync.Mutex
				got int
			)
			for range 8 {
				wg.Go(func() {
					err := s.Update(t.Context(), func(tx parcelguard.Tx) error {
						r, err := tx.ReleaseParcel(t.Context(), h.ParcelID)
						if err == nil && r != nil {
							mu.Lock()
							got++
							mu.Unlock()
						}
						return err
					})
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if got != 1 {
				t.Fatalf("%d releases got the hold, want 1", got)
			}
		})
	})
}
