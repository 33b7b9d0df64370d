package agent_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parcelguard/parcelguard"
	pgnats "github.com/parcelguard/parcelguard/nats"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure a compartment added to a provisioned site reaches the locker as a
// config command queued with it: the next free lock, the known ones
// unchanged, and a remote open of the new compartment opens that lock.
// The map is queued once: the sweep finds nothing left to queue.
func TestAddedCompartmentReachesLocker(t *testing.T) {
	w := newWorld(t, false)
	w.clock.Advance(time.Second)
	c := must[*parcelguard.Compartment](t)(w.svc.AddCompartment(w.ctx, admin, parcelguard.Compartment{SiteID: w.site.ID, Label: "A0", Size: parcelguard.SizeS}))
	if n, err := w.svc.SyncLockerCompartments(w.ctx); err != nil || n != 0 {
		t.Fatalf("sweep after AddCompartment: %d, %v; want nothing left to queue", n, err)
	}
	lock := len(w.prov.Compartments) + 1
	eventually(t, "new compartment at the agent", func() bool {
		for _, k := range w.agent.Compartments() {
			if k.ID == c.ID {
				return k.Lock == lock
			}
		}
		return false
	})
	for _, k := range w.prov.Compartments {
		for _, got := range w.agent.Compartments() {
			if got.ID == k.ID && got.Lock != k.Lock {
				t.Fatalf("compartment %s moved from lock %d to %d", k.Label, k.Lock, got.Lock)
			}
		}
	}
	if err := w.svc.RemoteOpen(w.ctx, admin, c.ID, "first parcel in the new door"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "new door open", func() bool { return w.sim.DoorIsOpen(lock) })
}

// Ensure a locker back after longer than the command stream keeps commands
// is resynced: the commands it missed are gone from the stream, yet it gets
// the grant issued meanwhile and ends the grant the cloud ended meanwhile.
func TestResyncAfterLongSilence(t *testing.T) {
	w := newWorld(t, false)
	_, pin1, g1 := w.deposit("TRK-R1")
	eventually(t, "grant at the agent", func() bool { return w.agentHas(g1.ID, parcelguard.GrantActive) })
	eventually(t, "heartbeat seen", func() bool {
		var st *parcelguard.LockerStatus
		_ = w.db.View(w.ctx, func(tx parcelguard.Tx) (err error) { st, err = tx.LockerStatus(w.ctx, w.site.ID); return err })
		return st != nil && !st.LastSeen.IsZero()
	})
	w.stopAg() // the locker goes dark

	// Meanwhile the first parcel is taken out through the cloud (its grant
	// ends) and, a week later, a second one arrives.
	kiosk := parcelguard.Principal{Role: parcelguard.RoleKiosk, SiteID: w.site.ID, KeyPrefix: "pgk_kiosk"}
	if _, err := w.svc.Pickup(w.ctx, kiosk, w.site.ID, pin1, "5678"); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(service.CommandRetention + time.Hour)
	_, _, g2 := w.deposit("TRK-R2")
	eventually(t, "commands handed to the stream", func() bool {
		var pending []*parcelguard.DeviceCommand
		_ = w.db.View(w.ctx, func(tx parcelguard.Tx) (err error) {
			pending, err = tx.DeviceCommands(w.ctx, parcelguard.DeviceCommandFilter{SiteID: w.site.ID, State: parcelguard.DeviceCommandPending})
			return err
		})
		return len(pending) == 0
	})
	// The stream drops what it kept longer than its age limit.
	nc, err := nats.Connect(w.srv.URL(), nats.UserInfo(w.cloudCreds.User, w.cloudCreds.Password))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(w.ctx, pgnats.CommandsStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(w.ctx, jetstream.WithPurgeSubject(pgnats.CommandSubject(w.site.ID))); err != nil {
		t.Fatal(err)
	}

	w.stopAg = bg(t, w.agent.Run) // back
	eventually(t, "missed grant resent", func() bool { return w.agentHas(g2.ID, parcelguard.GrantActive) })
	eventually(t, "ended grant ended at the locker", func() bool { return w.agentHas(g1.ID, parcelguard.GrantRevoked) })
}
