package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// testSequences checks the store on the sequences of calls the use cases
// make, where an engine may send writes later than they are called (with
// the next statement or the commit) and read rows ahead of the calls that
// ask for them: the outcome must be as if every call ran at once.
func testSequences(t *testing.T, open Opener) {
	// reserved seeds a parcel reserved into the compartment, with an active
	// pickup grant for code "123456" that names both.
	reserved := func(t *testing.T, s parcelguard.Store) (*world, *parcelguard.Grant) {
		w := seed(t, s)
		g := newGrant("gr-1", w.parcel.ID, w.site.ID, w.compartment.ID, parcelguard.PurposePickup, "123456")
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			w.parcel.CompartmentID = w.compartment.ID
			check(w.parcel.Transition(parcelguard.ParcelReserved, t0))
			check(tx.SaveParcel(ctx, w.parcel))
			check(w.compartment.Reserve(w.parcel.ID))
			check(tx.SaveCompartment(ctx, w.compartment))
			return tx.CreateGrant(ctx, g)
		})
		return w, g
	}

	// Ensure a write between two reads is seen by the second, whichever
	// read came first: the parcel's compartment, site, carrier and guard
	// after the parcel's and site's reads, the grant's parcel, compartment
	// and delegate after the code's lookup.
	t.Run("ReadsAfterWrites", func(t *testing.T) {
		s := open(t)
		w, g := reserved(t, s)
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			p, err := tx.Parcel(ctx, w.parcel.ID)
			check(err)
			c, err := tx.Compartment(ctx, p.CompartmentID)
			check(err)
			c.State = parcelguard.CompartmentBlocked
			check(tx.SaveCompartment(ctx, c))
			again, err := tx.Compartment(ctx, p.CompartmentID)
			check(err)
			same(again, c)

			_, err = tx.Site(ctx, w.site.ID)
			check(err)
			guard := &parcelguard.LockerGuard{SiteID: w.site.ID, Failures: 3, WindowStart: t0}
			check(tx.SaveLockerGuard(ctx, guard))
			got, err := tx.LockerGuard(ctx, w.site.ID)
			check(err)
			same(got, guard)

			gs, err := tx.ActiveGrantsByCode(ctx, w.site.ID, parcelguard.PurposePickup, [][]byte{g.CodeHash})
			check(err)
			if len(gs) != 1 {
				t.Errorf("%d grants by code, want 1", len(gs))
				return nil
			}
			check(tx.CreateDelegate(ctx, &parcelguard.Delegate{GrantID: g.ID, ParcelID: p.ID, Name: "Jan", CreatedAt: t0}))
			d, err := tx.Delegate(ctx, g.ID)
			check(err)
			if d.Name != "Jan" {
				t.Errorf("delegate %+v, want the one just created", d)
			}
			check(p.Transition(parcelguard.ParcelDeposited, t0.Add(time.Minute)))
			check(tx.SaveParcel(ctx, p))
			p2, err := tx.Parcel(ctx, p.ID)
			check(err)
			same(p2, p)
			return nil
		})
	})

	// Ensure the rows a use case reads come back right when nothing is
	// written in between: the deposit's and the pickup's reads in their
	// order, each equal to what a fresh View reads.
	t.Run("UseCaseReads", func(t *testing.T) {
		s := open(t)
		w, g := reserved(t, s)
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			return tx.CreateDelegate(ctx, &parcelguard.Delegate{GrantID: g.ID, ParcelID: w.parcel.ID, Name: "Jan", CreatedAt: t0})
		})
		var want struct {
			p  *parcelguard.Parcel
			c  *parcelguard.Compartment
			gs []*parcelguard.Grant
			d  *parcelguard.Delegate
		}
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
			want.p, err = tx.Parcel(ctx, w.parcel.ID)
			noErr(t, err)
			want.c, err = tx.Compartment(ctx, w.compartment.ID)
			noErr(t, err)
			want.gs, err = tx.GrantsOfParcel(ctx, w.parcel.ID)
			noErr(t, err)
			want.d, err = tx.Delegate(ctx, g.ID)
			return err
		})
		for _, run := range []func(parcelguard.Store, func(parcelguard.Tx) error) error{
			func(s parcelguard.Store, fn func(parcelguard.Tx) error) error { return s.Update(t.Context(), fn) },
			func(s parcelguard.Store, fn func(parcelguard.Tx) error) error { return s.View(t.Context(), fn) },
		} {
			err := run(s, func(tx parcelguard.Tx) (err error) {
				defer catch(&err)
				ctx := t.Context()
				p, err := tx.Parcel(ctx, w.parcel.ID)
				check(err)
				same(p, want.p)
				c, err := tx.Compartment(ctx, p.CompartmentID)
				check(err)
				same(c, want.c)
				site, err := tx.Site(ctx, p.SiteID)
				check(err)
				same(site, w.site)
				carrier, err := tx.Carrier(ctx, p.CarrierID)
				check(err)
				same(carrier, w.carrier)
				guard, err := tx.LockerGuard(ctx, p.SiteID)
				check(err)
				same(guard, &parcelguard.LockerGuard{SiteID: p.SiteID})

				gs, err := tx.ActiveGrantsByCode(ctx, w.site.ID, parcelguard.PurposePickup, [][]byte{g.CodeHash})
				check(err)
				same(gs, want.gs)
				p, err = tx.Parcel(ctx, gs[0].ParcelID)
				check(err)
				same(p, want.p)
				c, err = tx.Compartment(ctx, gs[0].CompartmentID)
				check(err)
				same(c, want.c)
				d, err := tx.Delegate(ctx, g.ID)
				check(err)
				same(d, want.d)
				_, err = tx.Delegate(ctx, "no-such-grant")
				if !errors.Is(err, parcelguard.ErrNotFound) {
					check(fmt.Errorf("delegate of an unknown grant: got %v, want ErrNotFound", err))
				}
				// Asked twice, a row is still right the second time.
				p, err = tx.Parcel(ctx, w.parcel.ID)
				check(err)
				same(p, want.p)
				gs, err = tx.GrantsOfParcel(ctx, w.parcel.ID)
				check(err)
				same(gs, want.gs)
				return nil
			})
			noErr(t, err)
		}
	})

	// Ensure a timer's claim and its parcel's reads see the parcel and
	// grants as they are, and a second claim of the timer claims nothing.
	t.Run("ClaimThenRead", func(t *testing.T) {
		s := open(t)
		w, _ := reserved(t, s)
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			return tx.ScheduleTimer(ctx, &parcelguard.Timer{ID: "tm-1", Kind: parcelguard.TimerExpiry, ParcelID: w.parcel.ID, DueAt: t0})
		})
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			ok, err := tx.ClaimTimer(ctx, "tm-1")
			check(err)
			if !ok {
				t.Error("the timer was not claimed")
			}
			p, err := tx.Parcel(ctx, w.parcel.ID)
			check(err)
			same(p, w.parcel)
			gs, err := tx.GrantsOfParcel(ctx, w.parcel.ID)
			check(err)
			if len(gs) != 1 || gs[0].ID != "gr-1" {
				t.Errorf("grants of the parcel: %+v", gs)
			}
			gs[0].End(parcelguard.GrantExpired)
			check(tx.SaveGrant(ctx, gs[0]))
			again, err := tx.GrantsOfParcel(ctx, w.parcel.ID)
			check(err)
			same(again, gs)
			ok, err = tx.ClaimTimer(ctx, "tm-1")
			check(err)
			if ok {
				t.Error("the timer was claimed twice")
			}
			return nil
		})
	})

	// Ensure a save that fails keeps the Version it was given, wherever
	// the failure surfaces, so the caller can tell what is stored.
	t.Run("VersionOnFailure", func(t *testing.T) {
		s := open(t)
		w, _ := reserved(t, s)
		fresh, stale := *w.parcel, *w.parcel
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveParcel(ctx, &fresh) })
		err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			check(tx.SaveParcel(ctx, &stale))
			_, err := tx.Site(ctx, w.site.ID)
			return err
		})
		wantErr(t, err, parcelguard.ErrConflict)
		if stale.Version != w.parcel.Version || fresh.Version != w.parcel.Version+1 {
			t.Fatalf("versions after a failed save %d and a good one %d, want %d and %d",
				stale.Version, fresh.Version, w.parcel.Version, w.parcel.Version+1)
		}
	})

	// Ensure a stale save fails the transaction with ErrConflict however
	// much the transaction does after it, and none of its writes stay.
	t.Run("ConflictLater", func(t *testing.T) {
		s := open(t)
		w, g := reserved(t, s)
		stale := *g
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			fresh := *g
			check(fresh.Use(t0.Add(time.Hour)))
			return tx.SaveGrant(ctx, &fresh)
		})
		err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			check(stale.Use(t0.Add(time.Hour)))
			check(tx.SaveGrant(ctx, &stale))
			p := *w.parcel
			check(p.Transition(parcelguard.ParcelDeposited, t0.Add(time.Hour)))
			check(tx.SaveParcel(ctx, &p))
			check(tx.EnqueueMessage(ctx, newMessage("msg-1", "k1", 0)))
			check(tx.AppendEvent(ctx, newEvent("site:a", 1)))
			return nil
		})
		wantErr(t, err, parcelguard.ErrConflict)
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			p, err := tx.Parcel(ctx, w.parcel.ID)
			noErr(t, err)
			equal(t, p, w.parcel)
			ms, err := tx.Messages(ctx, parcelguard.MessageFilter{})
			noErr(t, err)
			evs, err := tx.Events(ctx, parcelguard.EventFilter{})
			noErr(t, err)
			if len(ms)+len(evs) != 0 {
				t.Fatalf("the failed transaction left %d messages, %d events", len(ms), len(evs))
			}
			return nil
		})
	})
}

// same aborts the running Update or View fn (see check) unless got and want
// are equal as equal judges them; unlike equal it is safe on any goroutine.
func same(got, want any) {
	g, w := normalize(reflect.ValueOf(got)), normalize(reflect.ValueOf(want))
	if !reflect.DeepEqual(g.Interface(), w.Interface()) {
		check(fmt.Errorf("mismatch:\n%s", diff(g, w)))
	}
}
