package service_test

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/devicemsg"
)

// Ensure the cloud converges on the locker's history however its events
// arrive: in any order, each any number of times (at least once), before or
// after the cloud's own expiry ran. A parcel the locker handed over before
// its deadline ends picked_up with exactly one picked_up event, the others
// end expired, and each locker event is applied once.
func TestDeviceConvergence(t *testing.T) {
	f := newFixture(t)
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		site := must(f.svc.CreateSite(f.ctx, admin, parcelguard.Site{Name: fmt.Sprintf("Conv %d", n), Address: "Street 1"}))(rt)
		k := rapid.IntRange(1, 4).Draw(rt, "parcels")
		for i := range k {
			must(f.svc.AddCompartment(f.ctx, admin, parcelguard.Compartment{SiteID: site.ID, Label: fmt.Sprintf("C%d", i), Size: parcelguard.SizeS}))(rt)
		}
		must(f.svc.ProvisionLocker(f.ctx, f.operator, site.ID, fmt.Sprintf("locker-%d", n), "$2a$10$hash"))(rt)
		start := f.clock.Now()
		type parcel struct {
			id    string
			grant *parcelguard.Grant
			taken bool
		}
		var ps []*parcel
		var history []devicemsg.Event
		seq := uint64(0)
		for i := range k {
			x := must(f.svc.Announce(f.ctx, f.carrierP, parcelguard.Parcel{TrackingNumber: fmt.Sprintf("CONV-%d-%d", n, i),
				Size: parcelguard.SizeS, SiteID: site.ID, Recipient: parcelguard.Recipient{Name: "R", Phone: "+48600100200"}}))(rt)
			must(f.svc.Reserve(f.ctx, f.courier, x.ID))(rt)
			must(f.svc.Deposit(f.ctx, f.courier, x.ID))(rt)
			_, g, err := f.svc.PickupCode(f.ctx, x.ID)
			if err != nil {
				rt.Fatal(err)
			}
			p := &parcel{id: x.ID, grant: g, taken: rapid.Bool().Draw(rt, "taken")}
			ps = append(ps, p)
			if p.taken {
				at := g.NotBefore.Add(time.Duration(rapid.Int64Range(0, int64(parcelguard.DefaultStoragePeriod)-1).Draw(rt, "at")))
				seq++
				history = append(history, devicemsg.Event{ID: fmt.Sprintf("dev_%d_%d", n, seq), LockerID: site.ID, Seq: seq, At: at,
					Kind: devicemsg.EventPickup, Compartment: g.CompartmentID, GrantIDs: []string{g.ID}})
				seq++
				history = append(history, devicemsg.Event{ID: fmt.Sprintf("dev_%d_%d", n, seq), LockerID: site.ID, Seq: seq, At: at.Add(time.Second),
					Kind: devicemsg.EventDoorOpened, Compartment: g.CompartmentID, GrantIDs: []string{g.ID}})
			}
		}
		// Every event at least once, some again, in any order; the cloud's
		// expiry somewhere in between (or after).
		deliveries := append([]devicemsg.Event(nil), history...)
		for _, i := range rapid.SliceOfN(rapid.IntRange(0, max(len(history)-1, 0)), 0, 2*len(history)).Draw(rt, "repeats") {
			if len(history) > 0 {
				deliveries = append(deliveries, history[i])
			}
		}
		deliveries = rapid.Permutation(deliveries).Draw(rt, "order")
		expireAt := rapid.IntRange(0, len(deliveries)).Draw(rt, "expire at")
		expired := false
		expire := func() {
			f.clock.Set(start.Add(parcelguard.DefaultStoragePeriod + time.Minute))
			must(f.svc.FireDueTimers(f.ctx))(rt)
			expired = true
		}
		for i, ev := range deliveries {
			if i == expireAt {
				expire()
			}
			if err := f.svc.ApplyDeviceEvent(f.ctx, ev); err != nil {
				rt.Fatal(err)
			}
		}
		if !expired {
			expire()
		}

		for _, p := range ps {
			x := f.parcel(p.id)
			want := parcelguard.ParcelExpired
			if p.taken {
				want = parcelguard.ParcelPickedUp
			}
			if x.State != want {
				rt.Fatalf("parcel %s: %s, want %s", p.id, x.State, want)
			}
			var evs []*parcelguard.Event
			_ = f.db.View(f.ctx, func(tx parcelguard.Tx) (err error) {
				evs, err = tx.Events(f.ctx, parcelguard.EventFilter{ParcelID: p.id})
				return err
			})
			picked := 0
			for _, e := range evs {
				if e.Kind == parcelguard.EventParcelPickedUp {
					picked++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[p.taken]; picked != want {
				rt.Fatalf("parcel %s: %d picked_up events, want %d", p.id, picked, want)
			}
		}
		var applied []*parcelguard.AppliedDeviceEvent
		_ = f.db.View(f.ctx, func(tx parcelguard.Tx) (err error) {
			applied, err = tx.AppliedDeviceEvents(f.ctx, site.ID)
			return err
		})
		if len(applied) != len(history) {
			rt.Fatalf("%d events applied, want %d", len(applied), len(history))
		}
	})
}
