package service_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/storetest"
)

// seedReserved writes n parcels, each reserved into its own compartment of
// one of a few sites, straight through the store.
func seedReserved(b *testing.B, f *fixture, n int) []string {
	b.Helper()
	sites := make([]*parcelguard.Site, 8)
	for i := range sites {
		sites[i] = must(f.svc.CreateSite(f.ctx, admin, parcelguard.Site{Name: fmt.Sprintf("Bench %d", i), Address: "Bench St"}))(b)
	}
	return storetest.SeedReserved(b, f.ctx, f.db, f.clock.Now(), f.carrier.ID, sites, n)
}

// BenchmarkDeposit measures deposits (grant, PIN, timers, event) through
// the service on SQLite with concurrent callers.
func BenchmarkDeposit(b *testing.B) {
	f := newFixture(b)
	ids := seedReserved(b, f, b.N)
	storetest.Parallel(b, ids, func(_ int, id string) error {
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
	storetest.Parallel(b, ids, func(i int, _ string) error {
		kiosk := parcelguard.Principal{Role: parcelguard.RoleKiosk, SiteID: sites[i]}
		_, err := f.svc.Pickup(f.ctx, kiosk, sites[i], pins[i], phone)
		return err
	})
}
