package agent_test

import (
	"errors"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/audit"
)

func forEachServer(t *testing.T, fn func(t *testing.T, external bool)) {
	t.Run("Embedded", func(t *testing.T) { fn(t, false) })
	t.Run("External", func(t *testing.T) { fn(t, true) })
}

// Ensure a deposit in the cloud reaches the agent as a grant, a PIN pickup
// at the agent opens the right door, and the cloud records the pickup
// once.
func TestDepositPickupEndToEnd(t *testing.T) {
	forEachServer(t, func(t *testing.T, external bool) {
		w := newWorld(t, external)
		x, pin, g := w.deposit("TRK-1001")
		eventually(t, "grant at the agent", func() bool { return w.agentHas(g.ID, parcelguard.GrantActive) })

		if _, err := w.agent.Pickup(w.ctx, pin, "0000"); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("wrong phone digits: %v, want rejected", err)
		}
		res, err := w.agent.Pickup(w.ctx, pin, "5678")
		if err != nil {
			t.Fatal(err)
		}
		if res.CompartmentID != x.CompartmentID || res.ParcelID != x.ID {
			t.Fatalf("opened %+v, want compartment %s", res, x.CompartmentID)
		}
		lock := 0
		for _, c := range w.prov.Compartments {
			if c.ID == x.CompartmentID {
				lock = c.Lock
			}
		}
		if !w.sim.DoorIsOpen(lock) {
			t.Fatalf("door of lock %d is not open", lock)
		}
		if _, err := w.agent.Pickup(w.ctx, pin, "5678"); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("second pickup: %v, want rejected", err)
		}
		eventually(t, "cloud picked_up", func() bool { return w.parcel(x.ID).State == parcelguard.ParcelPickedUp })
		eventually(t, "door.opened in the cloud", func() bool { return w.eventCount("", parcelguard.EventDoorOpened) == 1 })
		eventually(t, "outbox flushed", func() bool { n, _ := w.agent.PendingEvents(w.ctx); return n == 0 })
		if n := w.eventCount(x.ID, parcelguard.EventParcelPickedUp); n != 1 {
			t.Fatalf("%d picked_up events, want 1", n)
		}
		// Both audit trails hold: the cloud's hash chains and the agent's.
		if n, err := w.agent.VerifyChain(w.ctx); err != nil || n < 2 {
			t.Fatalf("agent chain: %d events, %v", n, err)
		}
		if rep, err := audit.Verify(w.ctx, w.db); err != nil || !rep.OK() {
			t.Fatalf("cloud audit: %+v, %v", rep, err)
		}
	})
}
