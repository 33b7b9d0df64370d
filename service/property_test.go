package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/audit"
)

// stateEvent is the event each parcel state is entered with; the latest
// state-changing event of a parcel must name its current state.
var stateEvent = map[parcelguard.ParcelState]parcelguard.EventKind{
	parcelguard.ParcelAnnounced: parcelguard.EventParcelAnnounced,
	parcelguard.ParcelReserved:  parcelguard.EventParcelReserved,
	parcelguard.ParcelDeposited: parcelguard.EventParcelDeposited,
	parcelguard.ParcelPickedUp:  parcelguard.EventParcelPickedUp,
	parcelguard.ParcelExpired:   parcelguard.EventParcelExpired,
	parcelguard.ParcelCollected: parcelguard.EventParcelCollected,
	parcelguard.ParcelReturned:  parcelguard.EventParcelReturned,
	parcelguard.ParcelCancelled: parcelguard.EventParcelCancelled,
}

// Ensure that random sequences of operations and clock jumps keep every
// invariant of DESIGN.md §3: a compartment holds at most one parcel, a parcel
// is in exactly one state and entered it with an event, a grant opens at
// most once, active PINs are unique per locker, and the audit chain holds.
// Each check runs on a fresh site of one shared store, which keeps it fast.
func TestLockerInvariants(t *testing.T) {
	f := newFixture(t)
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		site := must(f.svc.CreateSite(f.ctx, admin, parcelguard.Site{Name: fmt.Sprintf("Site %d", n), Address: "Street 1", TimeZone: "Europe/Warsaw"}))(rt)
		kiosk := parcelguard.Principal{Role: parcelguard.RoleKiosk, SiteID: site.ID}
		sizes := rapid.SliceOfN(rapid.SampledFrom(parcelguard.SizeClasses), 1, 4).Draw(rt, "compartments")
		for i, size := range sizes {
			must(f.svc.AddCompartment(f.ctx, admin, parcelguard.Compartment{SiteID: site.ID, Label: fmt.Sprintf("C%d", i), Size: size}))(rt)
		}
		var parcels []string
		pins := map[string]string{}
		pick := func(rt *rapid.T) string {
			if len(parcels) == 0 {
				rt.Skip("no parcel yet")
			}
			return rapid.SampledFrom(parcels).Draw(rt, "parcel")
		}
		seq := 0
		rt.Repeat(map[string]func(*rapid.T){
			"announce": func(rt *rapid.T) {
				seq++
				p := must(f.svc.Announce(f.ctx, f.carrierP, parcelguard.Parcel{TrackingNumber: fmt.Sprintf("T%d-%d", n, seq),
					Size: rapid.SampledFrom(parcelguard.SizeClasses).Draw(rt, "size"), SiteID: site.ID,
					Recipient: parcelguard.Recipient{Name: "R", Phone: "+48600100200"}}))(rt)
				parcels = append(parcels, p.ID)
			},
			"reserve": func(rt *rapid.T) { _, _ = f.svc.Reserve(f.ctx, f.courier, pick(rt)) },
			"deposit": func(rt *rapid.T) {
				id := pick(rt)
				if _, err := f.svc.Deposit(f.ctx, f.courier, id); err == nil {
					pin, _, err := f.svc.PickupCode(f.ctx, id)
					if err != nil {
						rt.Fatal(err)
					}
					pins[id] = pin
				}
			},
			"pickup": func(rt *rapid.T) {
				id := pick(rt)
				pin, ok := pins[id]
				if !ok {
					rt.Skip("never deposited")
				}
				before := f.parcel(id).State
				res, err := f.svc.Pickup(f.ctx, kiosk, site.ID, pin, "0200")
				if err == nil && (before != parcelguard.ParcelDeposited || res.ParcelID != id) {
					rt.Fatalf("pickup of %s in state %s opened %+v", id, before, res)
				}
			},
			"pickupWrongPhone": func(rt *rapid.T) {
				id := pick(rt)
				if pin, ok := pins[id]; ok {
					if _, err := f.svc.Pickup(f.ctx, kiosk, site.ID, pin, "9999"); err == nil {
						rt.Fatal("wrong phone digits opened a door")
					}
				}
			},
			"pickupGuess": func(rt *rapid.T) {
				guess := fmt.Sprintf("%06d", rapid.IntRange(0, 999999).Draw(rt, "guess"))
				if res, err := f.svc.Pickup(f.ctx, kiosk, site.ID, guess, "1234"); err == nil {
					rt.Fatalf("guess with wrong phone opened %+v", res)
				}
			},
			"time": func(rt *rapid.T) {
				f.clock.Advance(time.Duration(rapid.IntRange(1, 100).Draw(rt, "hours")) * time.Hour)
				if _, err := f.svc.FireDueTimers(f.ctx); err != nil {
					rt.Fatal(err)
				}
			},
			"collect":  func(rt *rapid.T) { _, _ = f.svc.Collect(f.ctx, f.courier, pick(rt)) },
			"returned": func(rt *rapid.T) { _, _ = f.svc.MarkReturned(f.ctx, f.courier, pick(rt)) },
			"cancel":   func(rt *rapid.T) { _, _ = f.svc.Cancel(f.ctx, f.carrierP, pick(rt)) },
			"": func(rt *rapid.T) {
				if err := checkInvariants(f.ctx, f.db, site.ID); err != nil {
					rt.Fatal(err)
				}
			},
		})
		r, err := audit.Verify(f.ctx, f.db)
		if err != nil || !r.OK() {
			rt.Fatalf("audit: %v %+v", err, r)
		}
	})
}

// checkInvariants checks the invariants of one site against the store.
func checkInvariants(ctx context.Context, store parcelguard.Store, siteID string) error {
	return store.View(ctx, func(tx parcelguard.Tx) error {
		cmps, err := tx.Compartments(ctx, siteID)
		if err != nil {
			return err
		}
		parcels, err := tx.Parcels(ctx, parcelguard.ParcelFilter{SiteID: siteID, Limit: 10000})
		if err != nil {
			return err
		}
		byID := map[string]*parcelguard.Parcel{}
		for _, p := range parcels {
			byID[p.ID] = p
		}
		holder := map[string]string{} // compartment → parcel that claims it
		for _, p := range parcels {
			switch p.State {
			case parcelguard.ParcelReserved, parcelguard.ParcelDeposited, parcelguard.ParcelExpired:
				if other, dup := holder[p.CompartmentID]; dup {
					return fmt.Errorf("compartment %s claimed by %s and %s", p.CompartmentID, other, p.ID)
				}
				holder[p.CompartmentID] = p.ID
			}
		}
		for _, c := range cmps {
			want := map[parcelguard.ParcelState]parcelguard.CompartmentState{
				parcelguard.ParcelReserved: parcelguard.CompartmentReserved, parcelguard.ParcelDeposited: parcelguard.CompartmentOccupied,
				parcelguard.ParcelExpired: parcelguard.CompartmentOccupied}
			id := holder[c.ID]
			if id != c.ParcelID {
				return fmt.Errorf("compartment %s holds %q but parcel %q claims it", c.Label, c.ParcelID, id)
			}
			if id == "" && c.State != parcelguard.CompartmentFree {
				return fmt.Errorf("empty compartment %s is %s", c.Label, c.State)
			}
			if id != "" && c.State != want[byID[id].State] {
				return fmt.Errorf("compartment %s is %s holding a %s parcel", c.Label, c.State, byID[id].State)
			}
		}
		activeCodes := map[string]string{}
		for _, p := range parcels {
			grants, err := tx.GrantsOfParcel(ctx, p.ID)
			if err != nil {
				return err
			}
			used, active := 0, 0
			for _, g := range grants {
				switch g.State {
				case parcelguard.GrantUsed:
					used++
				case parcelguard.GrantActive:
					active++
					key := g.KeyID + string(g.CodeHash)
					if other, dup := activeCodes[key]; dup {
						return fmt.Errorf("parcels %s and %s share an active PIN", other, p.ID)
					}
					activeCodes[key] = p.ID
				}
			}
			if used > 1 || active > 1 || (p.State == parcelguard.ParcelPickedUp) != (used == 1) {
				return fmt.Errorf("parcel %s (%s): %d used and %d active grants", p.ID, p.State, used, active)
			}
			if active == 1 && p.State != parcelguard.ParcelDeposited {
				return fmt.Errorf("parcel %s is %s with an active pickup grant", p.ID, p.State)
			}
			events, err := tx.Events(ctx, parcelguard.EventFilter{ParcelID: p.ID, Limit: 10000})
			if err != nil {
				return err
			}
			var last parcelguard.EventKind
			for _, e := range events {
				for _, k := range stateEvent {
					if e.Kind == k {
						last = e.Kind
					}
				}
				if bytes.Contains([]byte(fmt.Sprint(e.Data)), []byte("pin")) {
					return errors.New("event data mentions a pin")
				}
			}
			if last != stateEvent[p.State] {
				return fmt.Errorf("parcel %s is %s but its last state event is %s", p.ID, p.State, last)
			}
		}
		return nil
	})
}
