package agent_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/devicemsg"
	pgnats "github.com/parcelguard/parcelguard/nats"
)

// Ensure a locker cut off from the cloud keeps serving pickups and raising
// alarms, and that after reconnecting every event is applied exactly once
// (also when the whole stream is delivered again), the cloud's view of a
// parcel taken offline before its deadline wins over the expiry it ran
// meanwhile, and the locker learns of the expiry of the one left behind.
func TestPartitionConverges(t *testing.T) {
	forEachServer(t, func(t *testing.T, external bool) {
		w := newWorld(t, external)
		x1, pin1, g1 := w.deposit("TRK-2001")
		x2, _, g2 := w.deposit("TRK-2002")
		eventually(t, "grants at the agent", func() bool {
			return w.agentHas(g1.ID, parcelguard.GrantActive) && w.agentHas(g2.ID, parcelguard.GrantActive)
		})

		w.srv.Stop() // the partition: neither side reaches the server

		w.clock.Advance(time.Hour)
		if _, err := w.agent.Pickup(w.ctx, pin1, "5678"); err != nil {
			t.Fatalf("offline pickup: %v", err)
		}
		if err := w.sim.Force(w.lockOf(x2.CompartmentID)); err != nil {
			t.Fatal(err)
		}
		eventually(t, "events queued offline", func() bool { n, _ := w.agent.PendingEvents(w.ctx); return n >= 3 })

		// A simulated day and more passes in the cloud: both parcels expire
		// there, as far as it knows.
		w.clock.Advance(parcelguard.DefaultStoragePeriod)
		if _, err := w.svc.FireDueTimers(w.ctx); err != nil {
			t.Fatal(err)
		}
		if s := w.parcel(x1.ID).State; s != parcelguard.ParcelExpired {
			t.Fatalf("x1 %s in the partitioned cloud, want expired", s)
		}

		w.srv.Start(t)
		eventually(t, "x1 picked up in the cloud", func() bool { return w.parcel(x1.ID).State == parcelguard.ParcelPickedUp })
		eventually(t, "outbox flushed", func() bool { n, _ := w.agent.PendingEvents(w.ctx); return n == 0 })
		eventually(t, "forced-open alarm in the cloud", func() bool { return w.eventCount("", parcelguard.EventKind("alarm.forced_open")) == 1 })
		eventually(t, "x2's grant revoked at the agent", func() bool { return w.agentHas(g2.ID, parcelguard.GrantRevoked) })
		if s := w.parcel(x2.ID).State; s != parcelguard.ParcelExpired {
			t.Fatalf("x2 %s, want expired", s)
		}
		if g := must[*parcelguard.Grant](t)(w.agent.Grant(w.ctx, g1.ID)); g.State != parcelguard.GrantUsed {
			t.Fatalf("x1's grant at the agent is %s, want used", g.State)
		}

		// The agent sends everything again (as after losing its outbox
		// marks): the stream drops the copies by event id.
		redo, err := sql.Open("sqlite", filepath.Join(w.dir, "agent.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer redo.Close()
		if _, err := redo.Exec(`UPDATE outbox SET sent = 0`); err != nil {
			t.Fatal(err)
		}
		eventually(t, "outbox flushed again", func() bool { n, _ := w.agent.PendingEvents(w.ctx); return n == 0 })

		// And the whole stream is delivered to the cloud once more, through
		// a fresh consumer: nothing applies twice.
		before := w.applied.Load()
		snapshot := w.siteEvents()
		var replayed atomic.Int64 // handlers may run concurrently
		cloud2, err := pgnats.Connect(w.ctx, w.srv.URL(), w.cloudCreds, pgnats.CloudOptions{EventsDurable: "replay", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		defer cloud2.Close()
		done := make(chan struct{}, 1000)
		stop := bg(t, func(ctx context.Context) error {
			return cloud2.ConsumeEvents(ctx, func(ctx context.Context, ev devicemsg.Event) error {
				replayed.Add(1)
				done <- struct{}{}
				return w.svc.ApplyDeviceEvent(ctx, ev)
			})
		})
		eventually(t, "stream replayed", func() bool { return len(done) >= int(before) })
		stop()
		if after := w.siteEvents(); !reflect.DeepEqual(after, snapshot) {
			t.Errorf("audit events changed by the replay:\n before %v\n after  %v", snapshot, after)
		}
		for _, c := range []struct {
			parcel string
			kind   parcelguard.EventKind
			want   int
		}{{x1.ID, parcelguard.EventParcelPickedUp, 1}, {x1.ID, parcelguard.EventParcelExpired, 1}, {x2.ID, parcelguard.EventParcelExpired, 1},
			{"", parcelguard.EventKind("alarm.forced_open"), 1}, {"", parcelguard.EventDoorOpened, 1}} {
			if n := w.eventCount(c.parcel, c.kind); n != c.want {
				t.Errorf("%d %s events for %q, want %d", n, c.kind, c.parcel, c.want)
			}
		}
		t.Logf("deliveries: %d live, %d replayed", before, replayed.Load())
	})
}
