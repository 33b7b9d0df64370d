package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/devicemsg"
	"github.com/parcelguard/parcelguard/service"
)

// A locker pickup is the recipient's pickup as a locker's agent does it:
// the agent matches the PIN against its own copy of the grants, opens the
// door without asking the cloud, and reports the pickup over the device
// channel; the cloud applies the report (Service.ApplyDeviceEvent). The
// agent's part runs on the locker's own hardware, so the bench stands in
// for it with the report alone, built as the agent builds it.

// seedCourier is the principal the locker-pickup parcels are deposited
// by, through the use case.
func seedCourier(w *world) parcelguard.Principal {
	return parcelguard.Principal{Role: parcelguard.RoleCourier, CarrierID: w.carrier.ID, KeyPrefix: "pgk_benchseed"}
}

// seedLocker creates sites lockers, reserves n more parcels there in bulk,
// provisions the lockers (provision) and deposits each parcel through the
// use case on workers goroutines, so each has what a real deposit leaves (its
// pickup grant, the grant's command to the locker, the notices, the
// timers), and notes its grant: what the locker's report names.
//
// The pool has lockers of its own because the service applies one
// locker's reports one at a time, in order: reports from the world's few
// sites would queue behind each other, where a network's come from as
// many lockers as recipients are at them.
func (w *world) seedLocker(ctx context.Context, svc *service.Service, store parcelguard.Store, sites, n, workers int,
	provision func(context.Context, []*parcelguard.Site) error) error {
	var err error
	if w.lockerSites, err = createSites(ctx, svc, "Bench Locker", sites); err != nil {
		return err
	}
	w.locker = make([]item, n)
	if err := w.seedPool(ctx, store, w.locker, w.lockerSites, "L"); err != nil {
		return fmt.Errorf("seed locker-pickup parcels: %w", err)
	}
	// A locker is provisioned with its compartments, so after them.
	if err := provision(ctx, w.lockerSites); err != nil {
		return err
	}
	courier := seedCourier(w)
	return forEach(ctx, n, workers, func(ctx context.Context, i int) error {
		it := &w.locker[i]
		if _, err := svc.Deposit(ctx, courier, it.parcel); err != nil {
			return err
		}
		return store.View(ctx, func(tx parcelguard.Tx) error {
			grants, err := tx.GrantsOfParcel(ctx, it.parcel)
			if err != nil {
				return err
			}
			for _, g := range grants {
				if g.Purpose == parcelguard.PurposePickup && g.State == parcelguard.GrantActive {
					it.grant = g.ID
					return nil
				}
			}
			return fmt.Errorf("deposited parcel %s has no active pickup grant", it.parcel)
		})
	})
}

// lockerSitesFor is how many lockers report in a run of workers: twice as
// many, so that two reports in flight seldom come from one locker.
func lockerSitesFor(workers int) int { return 2 * workers }

// lockerEvents numbers each locker's reports, as an agent's outbox does.
type lockerEvents struct {
	mu  sync.Mutex
	seq map[string]uint64
}

// pickup is the report an agent sends after opening its door for the
// recipient's PIN.
func (l *lockerEvents) pickup(it *item) devicemsg.Event {
	l.mu.Lock()
	if l.seq == nil {
		l.seq = map[string]uint64{}
	}
	l.seq[it.site]++
	seq := l.seq[it.site]
	l.mu.Unlock()
	now := time.Now()
	return devicemsg.Event{ID: parcelguard.NewID("dev", now), LockerID: it.site, Seq: seq, At: now, Kind: devicemsg.EventPickup,
		Compartment: it.compartment, GrantIDs: []string{it.grant}, Data: map[string]string{"method": "pin"}}
}

// AppliedEvents tells the bench when the service has applied a locker's
// report: the service's wiring calls Done after each successful apply, and
// a worker that published the report waits for it.
type AppliedEvents struct {
	waiting sync.Map // event id → chan struct{}
}

// Done notes that the service applied ev.
func (a *AppliedEvents) Done(ev devicemsg.Event) {
	if ch, ok := a.waiting.LoadAndDelete(ev.ID); ok {
		close(ch.(chan struct{}))
	}
}

// expect registers id before its report is published, so that an apply
// faster than the publisher's return is not missed; the returned channel
// closes when it is applied.
func (a *AppliedEvents) expect(id string) <-chan struct{} {
	ch := make(chan struct{})
	a.waiting.Store(id, ch)
	return ch
}

// forget drops a wait that will not complete.
func (a *AppliedEvents) forget(id string) { a.waiting.Delete(id) }

// lockerPickupTimeout bounds the wait for one report's apply: far beyond
// any latency of a working service, short of hanging the bench.
const lockerPickupTimeout = time.Minute

// lockerPickup measures lockers' pickup reports through the device
// channel: each worker publishes a report as the site's locker and waits
// until the service has applied it. Its CPU time counts until the outbox
// has sent the pickup notices.
func (r *serviceRun) lockerPickup(ctx context.Context, cfg Config, p *progress) (Stats, time.Duration, error) {
	if r.s.PublishEvent == nil || r.s.Applied == nil {
		return Stats{}, 0, fmt.Errorf("the service has no device channel to report pickups on")
	}
	var events lockerEvents
	m := startMeter(r.s.Writer)
	_, st, err := measure(ctx, cfg, p, indexes(len(r.w.locker)), func(ctx context.Context, _ int, i int) error {
		ev := events.pickup(&r.w.locker[i])
		applied := r.s.Applied.expect(ev.ID)
		if err := r.s.PublishEvent(ctx, ev); err != nil {
			r.s.Applied.forget(ev.ID)
			return err
		}
		select {
		case <-applied:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(lockerPickupTimeout):
			r.s.Applied.forget(ev.ID)
			return fmt.Errorf("pickup report %s not applied within %v", ev.ID, lockerPickupTimeout)
		}
	})
	if err != nil {
		return st, 0, err
	}
	drain, err := drainOutbox(ctx, r.s.Store)
	return m.stats(st), drain, err
}

// seedLocker gives the service its locker-pickup parcels and waits for the
// outbox to send their deposit notices and for the lockers to take their
// grants, so that the reports meet a network at rest.
func (r *serviceRun) seedLocker(ctx context.Context, sites, n, workers int) error {
	// Settle provisions the new sites' lockers and brings them online.
	provision := func(ctx context.Context, _ []*parcelguard.Site) error {
		if r.s.Settle == nil {
			return fmt.Errorf("the service has no device channel to provision lockers on")
		}
		return r.s.Settle(ctx)
	}
	if err := r.w.seedLocker(ctx, r.s.Svc, r.s.Store, sites, n, workers, provision); err != nil {
		return err
	}
	if err := drainDeviceOutbox(ctx, r.s.Store); err != nil {
		return err
	}
	_, err := drainOutbox(ctx, r.s.Store)
	return err
}

// lockerPickup measures the floor's apply of the same reports.
func (f *floorRun) lockerPickup(ctx context.Context, cfg Config, p *progress) (Stats, error) {
	var events lockerEvents
	m := startMeter(writerOf(f.store))
	_, s, err := measure(ctx, cfg, p, indexes(len(f.w.locker)), func(ctx context.Context, _ int, i int) error {
		it := &f.w.locker[i]
		ev := events.pickup(it)
		return f.store.Update(ctx, func(tx parcelguard.Tx) error { return floorLockerPickup(ctx, tx, it, ev) })
	})
	return m.stats(s), err
}
