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
)

// The service's deposit and pickup use cases on PostgreSQL, with
// concurrent callers: the same benchmarks as service/bench_test.go runs on
// SQLite, so the two engines' figures stand side by side.

var admin = parcelguard.Principal{Role: parcelguard.RoleAdmin, KeyPrefix: "pgk_bench"}

const benchPhone = "+4915112345678"

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
	now := s.clock.Now()
	sites := make([]*parcelguard.Site, 8)
	for i := range sites {
		site, err := s.svc.CreateSite(s.ctx, admin, parcelguard.Site{Name: fmt.Sprintf("Bench %d", i), Address: "Bench St"})
		if err != nil {
			b.Fatal(err)
		}
		sites[i] = site
	}
	ids := make([]string, n)
	const chunk = 1000 // rows per transaction, to keep each one short
	for start := 0; start < n; start += chunk {
		err := s.db.Update(s.ctx, func(tx parcelguard.Tx) error {
			for i := start; i < min(n, start+chunk); i++ {
				site := sites[i%len(sites)]
				p := &parcelguard.Parcel{ID: parcelguard.NewID("par", now), CarrierID: s.carrier.ID, TrackingNumber: fmt.Sprintf("B-%08d", i),
					Recipient: parcelguard.Recipient{Name: "R", Phone: benchPhone}, Size: parcelguard.SizeS,
					Mode: parcelguard.HandoverLocker, State: parcelguard.ParcelAnnounced, SiteID: site.ID, CreatedAt: now, UpdatedAt: now}
				c := &parcelguard.Compartment{ID: parcelguard.NewID("cmp", now), SiteID: site.ID, Label: fmt.Sprintf("B%d", i),
					Size: parcelguard.SizeS, State: parcelguard.CompartmentFree}
				if err := tx.CreateCompartment(s.ctx, c); err != nil {
					return err
				}
				if err := tx.CreateParcel(s.ctx, p); err != nil {
					return err
				}
				if err := c.Reserve(p.ID); err != nil {
					return err
				}
				p.State, p.CompartmentID = parcelguard.ParcelReserved, c.ID
				if err := tx.SaveCompartment(s.ctx, c); err != nil {
					return err
				}
				if err := tx.SaveParcel(s.ctx, p); err != nil {
					return err
				}
				ids[i] = p.ID
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

// parallel runs op over items from 16 goroutines per core and reports
// operations per second.
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

// BenchmarkServiceDeposit measures deposits (grant, PIN, timers, outbox,
// event) through the service on PostgreSQL with concurrent callers.
func BenchmarkServiceDeposit(b *testing.B) {
	s := newBenchService(b)
	ids := s.seedReserved(b, b.N)
	trips := s.db.RoundTrips()
	parallel(b, ids, func(_ int, id string) error {
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
	parallel(b, ids, func(i int, _ string) error {
		kiosk := parcelguard.Principal{Role: parcelguard.RoleKiosk, SiteID: sites[i]}
		_, err := s.svc.Pickup(s.ctx, kiosk, sites[i], pins[i], benchPhone[len(benchPhone)-4:])
		return err
	})
	b.ReportMetric(float64(s.db.RoundTrips()-trips)/float64(b.N), "trips/op")
}
