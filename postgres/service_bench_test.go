package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/internal/pgtest"
	"github.com/parcelguard/parcelguard/postgres"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/storetest"
)

// The service's deposit and pickup use cases on PostgreSQL, with
// concurrent callers: the same benchmarks as service/bench_test.go runs on
// SQLite, so the two engines' figures stand side by side.

var admin = parcelguard.Principal{Role: parcelguard.RoleAdmin, KeyPrefix: "pgk_bench"}

const benchPhone = storetest.SeedPhone

// benchService is a service on a fresh PostgreSQL database with one
// carrier (phone factor on).
type benchService struct {
	ctx     context.Context
	db      *postgres.DB
	svc     *service.Service
	carrier *parcelguard.Carrier
	courier parcelguard.Principal
	clock   *parcelguard.ManualClock
}

func newBenchService(b testing.TB) *benchService {
	b.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	keys, err := code.GenerateKeyring()
	if err != nil {
		b.Fatal(err)
	}
	clock := parcelguard.NewManualClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	s := &benchService{ctx: ctx, db: db, clock: clock, svc: service.New(service.Config{Store: db, Clock: clock, Keys: keys})}
	if s.carrier, err = s.svc.CreateCarrier(ctx, admin, parcelguard.Carrier{Name: "Fast Parcel", PhoneFactor: true}); err != nil {
		b.Fatal(err)
	}
	s.courier = parcelguard.Principal{Role: parcelguard.RoleCourier, KeyPrefix: "pgk_cou", CarrierID: s.carrier.ID}
	return s
}

// seedReserved writes n parcels, each reserved into its own compartment of
// one of eight sites, straight through the store.
func (s *benchService) seedReserved(b testing.TB, n int) []string {
	b.Helper()
	sites := make([]*parcelguard.Site, 8)
	for i := range sites {
		site, err := s.svc.CreateSite(s.ctx, admin, parcelguard.Site{Name: fmt.Sprintf("Bench %d", i), Address: "Bench St"})
		if err != nil {
			b.Fatal(err)
		}
		sites[i] = site
	}
	return storetest.SeedReserved(b, s.ctx, s.db, s.clock.Now(), s.carrier.ID, sites, n)
}

// BenchmarkServiceDeposit measures deposits (grant, PIN, timers, outbox,
// event) through the service on PostgreSQL with concurrent callers.
func BenchmarkServiceDeposit(b *testing.B) {
	s := newBenchService(b)
	ids := s.seedReserved(b, b.N)
	trips := s.db.RoundTrips()
	storetest.Parallel(b, ids, func(_ int, id string) error {
		_, err := s.svc.Deposit(s.ctx, s.courier, id)
		return err
	})
	b.ReportMetric(float64(s.db.RoundTrips()-trips)/float64(b.N), "trips/op")
}

// BenchmarkServicePickup measures kiosk pickups (hash lookup, second
// factor, grant use, parcel, compartment, timers, outbox, event) through
// the service on PostgreSQL with concurrent callers.
func BenchmarkServicePickup(b *testing.B) {
	s := newBenchService(b)
	ids := s.seedReserved(b, b.N)
	pins := make([]string, len(ids))
	sites := make([]string, len(ids))
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < len(ids); i += 16 {
				p, err := s.svc.Deposit(s.ctx, s.courier, ids[i])
				if err != nil {
					b.Error(err)
					return
				}
				pin, _, err := s.svc.PickupCode(s.ctx, ids[i])
				if err != nil {
					b.Error(err)
					return
				}
				pins[i], sites[i] = pin, p.SiteID
			}
		})
	}
	wg.Wait()
	trips := s.db.RoundTrips()
	storetest.Parallel(b, ids, func(i int, _ string) error {
		kiosk := parcelguard.Principal{Role: parcelguard.RoleKiosk, SiteID: sites[i]}
		_, err := s.svc.Pickup(s.ctx, kiosk, sites[i], pins[i], benchPhone[len(benchPhone)-4:])
		return err
	})
	b.ReportMetric(float64(s.db.RoundTrips()-trips)/float64(b.N), "trips/op")
}
