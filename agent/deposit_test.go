package agent_test

import (
	"errors"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/audit"
)

// reserve announces a parcel and reserves a compartment for it.
func (w *world) reserve(tracking string) *parcelguard.Parcel {
	w.t.Helper()
	x := must[*parcelguard.Parcel](w.t)(w.svc.Announce(w.ctx, w.carrier, parcelguard.Parcel{TrackingNumber: tracking, Size: parcelguard.SizeS,
		SiteID: w.site.ID, Recipient: parcelguard.Recipient{Name: "Ada", Phone: "+4915112345678", Email: "ada@example.com"}}))
	return must[*parcelguard.Parcel](w.t)(w.svc.Reserve(w.ctx, w.courier, x.ID))
}

// Ensure a courier deposits offline with a deposit code: the cloud sends
// the deposit grant to the locker, the locker opens exactly the reserved
// door for the code while cut off, and after reconnecting the cloud
// deposits the parcel once and issues the recipient's pickup grant, which
// reaches the locker and opens the door for the recipient.
func TestOfflineDepositEndToEnd(t *testing.T) {
	forEachServer(t, func(t *testing.T, external bool) {
		w := newWorld(t, external)
		x := w.reserve("TRK-D1")
		depositCode, dg, err := w.svc.IssueDepositCode(w.ctx, w.courier, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		if dg.Purpose != parcelguard.PurposeDeposit || dg.CompartmentID != x.CompartmentID {
			t.Fatalf("deposit grant %+v", dg)
		}
		eventually(t, "deposit grant at the agent", func() bool { return w.agentHas(dg.ID, parcelguard.GrantActive) })

		w.srv.Stop()
		wrong := "000000"
		if depositCode == wrong {
			wrong = "111111"
		}
		if _, err := w.agent.Deposit(w.ctx, wrong); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("wrong deposit code: %v", err)
		}
		// A deposit code is no pickup PIN.
		if _, err := w.agent.Pickup(w.ctx, depositCode, "5678"); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("deposit code as a PIN: %v", err)
		}
		res, err := w.agent.Deposit(w.ctx, depositCode)
		if err != nil {
			t.Fatal(err)
		}
		if res.CompartmentID != x.CompartmentID || res.ParcelID != x.ID || !w.sim.DoorIsOpen(w.lockOf(x.CompartmentID)) {
			t.Fatalf("deposit opened %+v", res)
		}
		for _, c := range w.prov.Compartments {
			if c.ID != x.CompartmentID && w.sim.DoorIsOpen(c.Lock) {
				t.Fatalf("door %s opened too", c.Label)
			}
		}
		if _, err := w.agent.Deposit(w.ctx, depositCode); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("deposit code used twice: %v", err)
		}
		if s := w.parcel(x.ID).State; s != parcelguard.ParcelReserved {
			t.Fatalf("cloud saw %s while cut off", s)
		}

		w.srv.Start(t)
		eventually(t, "deposited in the cloud", func() bool { return w.parcel(x.ID).State == parcelguard.ParcelDeposited })
		pin, pg, err := w.svc.PickupCode(w.ctx, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "pickup grant at the agent", func() bool { return w.agentHas(pg.ID, parcelguard.GrantActive) })
		if _, err := w.agent.Pickup(w.ctx, pin, "5678"); err != nil {
			t.Fatalf("recipient pickup: %v", err)
		}
		eventually(t, "picked up in the cloud", func() bool { return w.parcel(x.ID).State == parcelguard.ParcelPickedUp })
		eventually(t, "outbox flushed", func() bool { n, _ := w.agent.PendingEvents(w.ctx); return n == 0 })
		for kind, want := range map[parcelguard.EventKind]int{parcelguard.EventParcelDeposited: 1, parcelguard.EventParcelPickedUp: 1,
			parcelguard.EventDepositCodeIssued: 1} {
			if n := w.eventCount(x.ID, kind); n != want {
				t.Errorf("%d %s events, want %d", n, kind, want)
			}
		}
		if n := w.siteEvents()[parcelguard.EventDeviceConflict]; n != 0 {
			t.Errorf("%d conflicts", n)
		}
		if _, err := w.agent.VerifyChain(w.ctx); err != nil {
			t.Fatal(err)
		}
		if rep, err := audit.Verify(w.ctx, w.db); err != nil || !rep.OK() {
			t.Fatalf("cloud audit: %+v, %v", rep, err)
		}
	})
}

// Ensure a deposit code stops opening the door once the parcel went in
// some other way (the courier API): the recipient's pickup grant voids it
// at the locker. A second code replaces the first.
func TestDepositCodeVoidOnceDeposited(t *testing.T) {
	w := newWorld(t, false)
	x := w.reserve("TRK-D2")
	first, g1, err := w.svc.IssueDepositCode(w.ctx, w.courier, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	second, g2, err := w.svc.IssueDepositCode(w.ctx, w.courier, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "second code at the agent, first revoked", func() bool {
		return w.agentHas(g2.ID, parcelguard.GrantActive) && w.agentHas(g1.ID, parcelguard.GrantRevoked)
	})
	if first != second {
		if _, err := w.agent.Deposit(w.ctx, first); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("superseded code: %v", err)
		}
	}
	must[*parcelguard.Parcel](t)(w.svc.Deposit(w.ctx, w.courier, x.ID))
	eventually(t, "deposit code voided at the agent", func() bool { return w.agentHas(g2.ID, parcelguard.GrantRevoked) })
	if _, err := w.agent.Deposit(w.ctx, second); !errors.Is(err, parcelguard.ErrCodeRejected) {
		t.Fatalf("code after the deposit: %v", err)
	}
	// A parcel no longer reserved gets no code.
	if _, _, err := w.svc.IssueDepositCode(w.ctx, w.courier, x.ID); !errors.Is(err, parcelguard.ErrIllegalTransition) {
		t.Fatalf("code for a deposited parcel: %v", err)
	}
}
