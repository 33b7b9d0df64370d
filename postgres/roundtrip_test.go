package postgres_test

import (
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure the hot use cases keep to their round trips, the dominant cost
// of a short transaction on PostgreSQL: a deposit in 4 (BEGIN with the
// parcel and the rows that go with it, the PIN check, the grant, COMMIT
// with every other write), a pickup in 3 (BEGIN with the site and guard,
// the code lookup with the grant's rows, COMMIT with every write), a fired
// timer in 2 (BEGIN with the claim and the parcel's rows, COMMIT), an
// outbox claim in 2 and the record of a send in 1.
func TestServiceRoundTrips(t *testing.T) {
	s := newBenchService(t)
	ids := s.seedReserved(t, 3)
	trips := func(what string, want int64, f func() error) {
		t.Helper()
		before := s.db.RoundTrips()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := s.db.RoundTrips() - before; got != want {
			t.Errorf("%s took %d round trips, want %d", what, got, want)
		}
	}
	deposited := s.clock.Now()
	sites := make([]string, 2)
	for i, id := range ids[:2] {
		trips("deposit", 4, func() error {
			p, err := s.svc.Deposit(s.ctx, s.courier, id)
			if err == nil {
				sites[i] = p.SiteID
			}
			return err
		})
	}
	site := sites[0]
	pin, _, err := s.svc.PickupCode(s.ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	kiosk := parcelguard.Principal{Role: parcelguard.RoleKiosk, SiteID: site}
	trips("pickup", 3, func() error {
		_, err := s.svc.Pickup(s.ctx, kiosk, site, pin, benchPhone[len(benchPhone)-4:])
		return err
	})

	// A day before the deadline the second parcel's reminder is due, at
	// the deadline its expiry: each pass is a View listing what is due
	// (its read, then its ROLLBACK), then 2 round trips per timer fired.
	for _, at := range []time.Duration{parcelguard.DefaultStoragePeriod - parcelguard.ReminderLead, parcelguard.DefaultStoragePeriod} {
		s.clock.Set(deposited.Add(at))
		trips("firing a timer", 2+2, func() error {
			n, err := s.svc.FireDueTimers(s.ctx)
			if err == nil && n != 1 {
				t.Errorf("%d timers fired at +%v, want 1", n, at)
			}
			return err
		})
	}
	var x *parcelguard.Parcel
	if err := s.db.View(s.ctx, func(tx parcelguard.Tx) (err error) { x, err = tx.Parcel(s.ctx, ids[1]); return err }); err != nil {
		t.Fatal(err)
	}
	if x.State != parcelguard.ParcelExpired {
		t.Fatalf("parcel %s after its expiry: %s", x.ID, x.State)
	}

	var claimed []*parcelguard.Message
	trips("claiming messages", 2, func() error {
		return s.db.Update(s.ctx, func(tx parcelguard.Tx) (err error) {
			claimed, err = tx.ClaimMessages(s.ctx, s.clock.Now(), 100, time.Minute)
			return err
		})
	})
	if len(claimed) == 0 {
		t.Fatal("no message to claim")
	}
	trips("recording a send", 1, func() error {
		return s.db.Update(s.ctx, func(tx parcelguard.Tx) error {
			return tx.MarkSent(s.ctx, claimed[0].ID, s.clock.Now(), "")
		})
	})
	trips("recording a retry", 1, func() error {
		return s.db.Update(s.ctx, func(tx parcelguard.Tx) error {
			return tx.MarkRetry(s.ctx, claimed[1].ID, claimed[1].Lease, s.clock.Now().Add(time.Minute), "busy")
		})
	})

	// A request's Idempotency-Key claim rides in its use case's first
	// transaction: one round trip more, where a claim of its own took a
	// transaction (BEGIN with the insert, COMMIT).
	claim, err := service.NewIdempotencyClaim("key:pgk_bench", "k-1", []byte("request"))
	if err != nil {
		t.Fatal(err)
	}
	trips("deposit with an Idempotency-Key", 4+1, func() error {
		_, err := s.svc.Deposit(service.WithIdempotencyClaim(s.ctx, claim), s.courier, ids[2])
		return err
	})
	if claim.Made() == nil {
		t.Fatal("the deposit did not claim its Idempotency-Key")
	}
}
