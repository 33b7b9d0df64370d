package service_test

import (
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/devicemsg"
)

func (f *fixture) provisionLocker() {
	f.t.Helper()
	must(f.svc.ProvisionLocker(f.ctx, f.operator, f.site.ID, "locker-"+f.site.ID, "$2a$10$hash"))(f.t)
}

func (f *fixture) commands(state parcelguard.DeviceCommandState) []*parcelguard.DeviceCommand {
	f.t.Helper()
	var out []*parcelguard.DeviceCommand
	if err := f.db.View(f.ctx, func(tx parcelguard.Tx) (err error) {
		out, err = tx.DeviceCommands(f.ctx, parcelguard.DeviceCommandFilter{SiteID: f.site.ID, State: state})
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) pickupEvent(g *parcelguard.Grant, seq uint64, at time.Time) devicemsg.Event {
	return devicemsg.Event{ID: "dev_" + g.ID + "_" + string(rune('a'+seq)), LockerID: f.site.ID, Seq: seq, At: at,
		Kind: devicemsg.EventPickup, Compartment: g.CompartmentID, GrantIDs: []string{g.ID}, Data: map[string]string{"method": "pin"}}
}

// Ensure grants of a site with a locker go into the device outbox when
// issued and ended, not for a site without one, and that provisioning
// queues the grants issued before.
func TestDeviceCommandsEnqueued(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS, parcelguard.SizeS)
	f.deposited("TRK-0000") // before provisioning: no command
	if n := len(f.commands("")); n != 0 {
		t.Fatalf("%d commands for a site without a locker", n)
	}
	f.provisionLocker() // queues the grant issued before
	if cmds := f.commands(parcelguard.DeviceCommandPending); len(cmds) != 1 || cmds[0].Kind != parcelguard.DeviceGrantNew {
		t.Fatalf("after provisioning: %+v, want the earlier grant", cmds)
	}
	x, _ := f.deposited("TRK-0001")
	cmds := f.commands(parcelguard.DeviceCommandPending)[1:]
	if len(cmds) != 1 || cmds[0].Kind != parcelguard.DeviceGrantNew || cmds[0].Data != nil {
		t.Fatalf("commands %+v, want one grant.new without data", cmds)
	}
	f.clock.Advance(parcelguard.DefaultStoragePeriod + time.Minute)
	must(f.svc.FireDueTimers(f.ctx))(t)
	var kinds []string
	for _, c := range f.commands(parcelguard.DeviceCommandPending) {
		if c.GrantID == cmds[0].GrantID {
			kinds = append(kinds, string(c.Kind)+"/"+c.Data["reason"])
		}
	}
	if len(kinds) != 2 || kinds[1] != "grant.revoke/expired" {
		t.Fatalf("after expiry: %v, want grant.new then grant.revoke/expired", kinds)
	}
	if got := f.parcel(x.ID).State; got != parcelguard.ParcelExpired {
		t.Fatalf("parcel %s", got)
	}
}

// Ensure a locker pickup applies once however often it is delivered, and
// a pickup taken before the deadline but reported after the cloud expired
// the parcel is reconciled to picked_up.
func TestApplyDeviceEventOnce(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS, parcelguard.SizeS)
	f.provisionLocker()
	x, _ := f.deposited("TRK-0001")
	_, g, err := f.svc.PickupCode(f.ctx, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	ev := f.pickupEvent(g, 1, f.clock.Now().Add(time.Minute))
	for range 3 {
		if err := f.svc.ApplyDeviceEvent(f.ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.parcel(x.ID).State; got != parcelguard.ParcelPickedUp {
		t.Fatalf("parcel %s, want picked_up", got)
	}
	var events []*parcelguard.Event
	_ = f.db.View(f.ctx, func(tx parcelguard.Tx) (err error) {
		events, err = tx.Events(f.ctx, parcelguard.EventFilter{ParcelID: x.ID})
		return err
	})
	n := 0
	for _, e := range events {
		if e.Kind == parcelguard.EventParcelPickedUp {
			n++
			if e.Data["via"] != "locker" || e.Data["device_event"] != ev.ID {
				t.Errorf("picked_up data %v", e.Data)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d picked_up events, want 1", n)
	}

	// Offline pickup before the deadline, cloud expired meanwhile.
	y, _ := f.deposited("TRK-0002")
	_, gy, _ := f.svc.PickupCode(f.ctx, y.ID)
	taken := f.clock.Now().Add(time.Hour)
	f.clock.Advance(parcelguard.DefaultStoragePeriod + time.Hour)
	must(f.svc.FireDueTimers(f.ctx))(t)
	if got := f.parcel(y.ID).State; got != parcelguard.ParcelExpired {
		t.Fatalf("parcel %s, want expired", got)
	}
	if err := f.svc.ApplyDeviceEvent(f.ctx, f.pickupEvent(gy, 2, taken)); err != nil {
		t.Fatal(err)
	}
	if got := f.parcel(y.ID).State; got != parcelguard.ParcelPickedUp {
		t.Fatalf("parcel %s after the late pickup event, want picked_up", got)
	}

	// A grant of another site, or an unknown grant, is rejected and kept.
	bad := f.pickupEvent(gy, 3, taken)
	bad.GrantIDs = []string{"grt_nope"}
	if err := f.svc.ApplyDeviceEvent(f.ctx, bad); err != nil {
		t.Fatal(err)
	}
	var applied []*parcelguard.AppliedDeviceEvent
	_ = f.db.View(f.ctx, func(tx parcelguard.Tx) (err error) {
		applied, err = tx.AppliedDeviceEvents(f.ctx, f.site.ID)
		return err
	})
	if len(applied) != 3 {
		t.Fatalf("%d applied events, want 3", len(applied))
	}
}

// Ensure a compartment added to a site with a locker queues the locker's
// new compartment map in the same commit, and one added before the locker
// was provisioned does not; the sweep queues a map that was missed (a
// compartment written by other means) once, and nothing else.
func TestCompartmentMapQueuedWithCompartment(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS)
	configs := func() (n int) {
		for _, c := range f.commands("") {
			if c.Kind == parcelguard.DeviceConfig {
				n++
			}
		}
		return n
	}
	must(f.svc.AddCompartment(f.ctx, admin, parcelguard.Compartment{SiteID: f.site.ID, Label: "B1", Size: parcelguard.SizeM}))(t)
	if n := configs(); n != 0 {
		t.Fatalf("%d config commands for a site without a locker", n)
	}
	f.provisionLocker()
	f.clock.Advance(time.Second)
	must(f.svc.AddCompartment(f.ctx, admin, parcelguard.Compartment{SiteID: f.site.ID, Label: "C1", Size: parcelguard.SizeL}))(t)
	if n := configs(); n != 1 {
		t.Fatalf("%d config commands after adding a compartment to a provisioned locker, want 1", n)
	}
	if n, err := f.svc.SyncLockerCompartments(f.ctx); err != nil || n != 0 {
		t.Fatalf("sweep: %d, %v; want nothing left to queue", n, err)
	}

	f.clock.Advance(time.Second)
	if err := f.db.Update(f.ctx, func(tx parcelguard.Tx) error {
		return tx.CreateCompartment(f.ctx, &parcelguard.Compartment{ID: parcelguard.NewID("cmp", f.clock.Now()), SiteID: f.site.ID,
			Label: "D1", Size: parcelguard.SizeS, Dimensions: parcelguard.SizeS.StandardDimensions(), State: parcelguard.CompartmentFree})
	}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{1, 0} {
		if n, err := f.svc.SyncLockerCompartments(f.ctx); err != nil || n != want {
			t.Fatalf("sweep %d after a missed map: %d, %v; want %d", i+1, n, err, want)
		}
	}
	if n := configs(); n != 2 {
		t.Fatalf("%d config commands in all, want 2", n)
	}
}
