package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// SeedPhone is the recipient phone of the parcels SeedReserved writes.
const SeedPhone = "+4915112345678"

// SeedReserved writes n parcels of the carrier, each reserved into its own
// new S compartment of one of sites (round robin), straight through the
// store, 1000 to a transaction, and returns their ids. Service benchmarks
// use it to start from reserved parcels without paying for the use cases.
func SeedReserved(tb testing.TB, ctx context.Context, s parcelguard.Store, now time.Time, carrierID string, sites []*parcelguard.Site, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	const chunk = 1000 // rows per transaction, to keep each one short
	for start := 0; start < n; start += chunk {
		err := s.Update(ctx, func(tx parcelguard.Tx) error {
			for i := start; i < min(n, start+chunk); i++ {
				site := sites[i%len(sites)]
				p := &parcelguard.Parcel{ID: parcelguard.NewID("par", now), CarrierID: carrierID, TrackingNumber: fmt.Sprintf("B-%08d", i),
					Recipient: parcelguard.Recipient{Name: "R", Phone: SeedPhone}, Size: parcelguard.SizeS,
					Mode: parcelguard.HandoverLocker, State: parcelguard.ParcelAnnounced, SiteID: site.ID, CreatedAt: now, UpdatedAt: now}
				c := &parcelguard.Compartment{ID: parcelguard.NewID("cmp", now), SiteID: site.ID, Label: fmt.Sprintf("B%d", i),
					Size: parcelguard.SizeS, State: parcelguard.CompartmentFree}
				if err := tx.CreateCompartment(ctx, c); err != nil {
					return err
				}
				if err := tx.CreateParcel(ctx, p); err != nil {
					return err
				}
				if err := c.Reserve(p.ID); err != nil {
					return err
				}
				p.State, p.CompartmentID = parcelguard.ParcelReserved, c.ID
				if err := tx.SaveCompartment(ctx, c); err != nil {
					return err
				}
				if err := tx.SaveParcel(ctx, p); err != nil {
					return err
				}
				ids[i] = p.ID
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return ids
}

// Parallel runs op over items from 16 goroutines per core, the way
// concurrent API requests arrive, and reports operations per second.
func Parallel(b *testing.B, items []string, op func(i int, id string) error) {
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
