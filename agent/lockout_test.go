package agent_test

import (
	"errors"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Ensure lockouts at the locker reach the cloud's audit trail: a grant
// disabled after too many wrong phone digits raises alarm.grant_locked and
// locks the cloud's copy of the grant (grant.locked, once), and guessing at the kiosk raises the guessing
// alarm; both alarms carry a camera bookmark or "unrecorded".
func TestLockoutsReachTheCloud(t *testing.T) {
	w := newWorld(t, false)
	x, pin, g := w.deposit("TRK-L1")
	eventually(t, "grant at the agent", func() bool { return w.agentHas(g.ID, parcelguard.GrantActive) })

	w.srv.Stop() // the lockouts happen offline
	try := func(pin, digits string) error {
		for range 100 {
			_, err := w.agent.Pickup(w.ctx, pin, digits)
			var pe *parcelguard.Error
			if errors.As(err, &pe) && pe.Code == parcelguard.ETHROTTLED {
				w.clock.Advance(pe.RetryAfter + time.Second)
				continue
			}
			return err
		}
		t.Fatal("the kiosk stayed throttled")
		return nil
	}
	for i := 0; !w.agentHas(g.ID, parcelguard.GrantLocked); i++ {
		if i > parcelguard.MaxGrantFailures {
			t.Fatalf("grant not locked after %d wrong digits", i)
		}
		if err := try(pin, "0000"); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("wrong digits: %v", err)
		}
	}
	// The right digits no longer open: the code is disabled.
	if err := try(pin, "5678"); !errors.Is(err, parcelguard.ErrCodeRejected) {
		t.Fatalf("locked grant: %v", err)
	}
	guessed := func() bool {
		evs, err := w.agent.Pending(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Kind == "alarm.guessing" {
				return true
			}
		}
		return false
	}
	for i := 0; !guessed(); i++ {
		if i > 100 {
			t.Fatal("no guessing alarm after 100 wrong codes")
		}
		if err := try("000000", ""); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("guess: %v", err)
		}
	}
	evs, _ := w.agent.Pending(w.ctx)
	for _, ev := range evs {
		if ev.Kind.IsAlarm() && ev.Data["unrecorded"] != "" {
			t.Errorf("alarm %s flagged unrecorded without a camera", ev.Kind)
		}
	}

	w.srv.Start(t)
	eventually(t, "grant locked in the cloud", func() bool {
		var cg *parcelguard.Grant
		if err := w.db.View(w.ctx, func(tx parcelguard.Tx) (err error) { cg, err = tx.Grant(w.ctx, g.ID); return err }); err != nil {
			t.Fatal(err)
		}
		return cg.State == parcelguard.GrantLocked
	})
	eventually(t, "alarms in the cloud", func() bool {
		ev := w.siteEvents()
		return ev["alarm.grant_locked"] == 1 && ev[parcelguard.EventAlarmGuessing] == 1
	})
	if n := w.eventCount(x.ID, parcelguard.EventGrantLocked); n != 1 {
		t.Fatalf("%d grant.locked events, want 1", n)
	}
}
