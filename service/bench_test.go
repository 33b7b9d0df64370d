package service_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/parcelguard/parcelguard"
)

// seedReserved writes n parcels, each reserved into its own compartment of
// one of a few sites, straight through the store in one transaction.
func seedReserved(b *testing.B, f *fixture, n int) []string {
	b.Helper()
	now := f.clock.Now()
	ids := make([]string, n)
	sites := make([]*parcelguard.Site, 8)
	for i := range sites {
		sites[i] = must(f.svc.CreateSite(f.ctx, admin, parcelguard.Site{Name: fmt.Sprintf("Bench %d", i), Address: "Bench St"}))(b)
	}
	err := f.db.Update(f.ctx, func(tx parcelguard.Tx) error {
		for i := range n {
			site := sites[i%len(sites)]
			p := &parcelguard.Parcel{ID: parcelguard.NewID("par", now), CarrierID: f.carrier.ID, TrackingNumber: fmt.Sprintf("B-%08d", i),
				Recipient: parcelguard.Recipient{Name: "R", Phone: "+4915112345678"}, Size: parcelguard.SizeS,
				Mode: parcelguard.HandoverLocker, State: parcelguard.ParcelAnnounced, SiteID: site.ID, CreatedAt: now, UpdatedAt: now}
			c := &parcelguard.Compartment{ID: parcelguard.NewID("cmp", now), SiteID: site.ID, Label: fmt.Sprintf("B%d", i),
				Size: parcelguard.SizeS, State: parcelguard.CompartmentFree}
			if err := tx.CreateCompartment(f.ctx, c); err != nil {
				return err
			}
			if err := tx.CreateParcel(f.ctx, p); err != nil {
				return err
			}
			if err := c.Reserve(p.ID); err != nil {
				return err
			}
			p.State, p.CompartmentID = parcelguard.ParcelReserved, c.ID
			if err := tx.SaveCompartment(f.ctx, c); err != nil {
				return err
			}
			if err := tx.SaveParcel(f.ctx, p); err != nil {
				return err
			}
			ids[i] = p.ID
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return ids
}

// parallel runs op over items from 16 goroutines per core, the way
// concurrent API requests arrive, and reports operations per second.
func parallel(b *testing.B, items []string, op func(i int, id string) error) {
	b.Helper()
	var (
		mu   sync.Mutex
		next int
	)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			i := next
			next++
			mu.Unlock()
			if err := op(i, items[i]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkDeposit measures deposits (grant, PIN, timers, event) through
// the service on SQLite with concurrent callers.
func BenchmarkDeposit(b *testing.B) {
	f := newFixture(b)
	ids := seedReserved(b, f, b.N)
	parallel(b, ids, func(_ int, id string) error {
		_, err := f.svc.Deposit(f.ctx, f.courier, id)
		return err
	})
}

// BenchmarkPickup measures kiosk pickups (hash lookup, second factor, grant
// use, parcel, compartment, timers, event) with concurrent callers.
func BenchmarkPickup(b *testing.B) {
	f := newFixture(b)
	ids := seedReserved(b, f, b.N)
	pins := make([]string, len(ids))
	sites := make([]string, len(ids))
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < len(ids); i += 16 {
				p, err := f.svc.Deposit(f.ctx, f.courier, ids[i])
				if err != nil {
					b.Error(err)
					return
				}
				pin, _, err := f.svc.PickupCode(f.ctx, ids[i])
				if err != nil {
					b.Error(err)
					return
				}
				pins[i], sites[i] = pin, p.SiteID
			}
		})
	}
	wg.Wait()
	parallel(b, ids, func(i int, _ string) error {
		kiosk := parcelguard.Principal{Role: parcelguard.RoleKiosk, SiteID: sites[i]}
		_, err := f.svc.Pickup(f.ctx, kiosk, sites[i], pins[i], phone)
		return err
	})
}
