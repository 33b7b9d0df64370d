package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// benchParallelism is how many goroutines per GOMAXPROCS the parallel
// benchmarks run: request handlers mostly wait on the store, so a server
// has many more Updates in flight than cores, which is what lets an engine
// share commits.
const benchParallelism = 16

// benchSites spreads benchmark workers over several lockers (and so audit
// streams), as production traffic is.
const benchSites = 8

// Bench measures Update throughput for the two hottest use cases, each run
// serially and in parallel; ops/s is reported beside ns/op.
func Bench(b *testing.B, open func(b *testing.B) parcelguard.Store) {
	for _, c := range []struct {
		name string
		op   func(ctx context.Context, tx parcelguard.Tx, w *benchWorker) error
	}{
		{"Deposit", deposit},
		{"Pickup", pickup},
	} {
		b.Run(c.name+"/Serial", func(b *testing.B) {
			s, next := benchSetup(b, open)
			w := next(b)
			b.ResetTimer()
			for b.Loop() {
				if err := s.Update(b.Context(), func(tx parcelguard.Tx) error { return c.op(b.Context(), tx, w) }); err != nil {
					b.Fatal(err)
				}
			}
			reportOps(b)
		})
		b.Run(c.name+"/Parallel", func(b *testing.B) {
			s, next := benchSetup(b, open)
			b.SetParallelism(benchParallelism)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := next(b)
				for pb.Next() {
					if err := s.Update(context.Background(), func(tx parcelguard.Tx) error { return c.op(context.Background(), tx, w) }); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportOps(b)
		})
	}
}

func reportOps(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// benchWorker is one benchmark goroutine's own rows, so that parallel
// workers never conflict on a row (as distinct recipients do not).
type benchWorker struct {
	site, parcel, compartment string
	code                      []byte // the worker's active pickup grant's hash
	n                         int
}

// benchSetup opens a store with the benchmark sites and carrier, and returns
// a function that creates one worker's rows.
func benchSetup(b *testing.B, open func(b *testing.B) parcelguard.Store) (parcelguard.Store, func(b *testing.B) *benchWorker) {
	s := open(b)
	ctx := context.Background()
	err := s.Update(ctx, func(tx parcelguard.Tx) error {
		if err := tx.CreateCarrier(ctx, newCarrier("car-1")); err != nil {
			return err
		}
		for i := range benchSites {
			if err := tx.CreateSite(ctx, newSite(fmt.Sprintf("site-%d", i))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var workers atomic.Int64
	return s, func(b *testing.B) *benchWorker {
		i := workers.Add(1)
		w := &benchWorker{
			site:        fmt.Sprintf("site-%d", i%benchSites),
			parcel:      fmt.Sprintf("par-%d", i),
			compartment: fmt.Sprintf("cmp-%d", i),
			code:        randomHash(),
		}
		err := s.Update(ctx, func(tx parcelguard.Tx) error {
			if err := tx.CreateCompartment(ctx, newCompartment(w.compartment, w.site, fmt.Sprintf("W%d", i), parcelguard.SizeM)); err != nil {
				return err
			}
			if err := tx.CreateParcel(ctx, newParcel(w.parcel, "car-1", w.site, fmt.Sprintf("TRK-%d", i))); err != nil {
				return err
			}
			g := newGrant(fmt.Sprintf("gr-%d", i), w.parcel, w.site, w.compartment, parcelguard.PurposePickup, "")
			g.CodeHash = w.code
			return tx.CreateGrant(ctx, g)
		})
		if err != nil {
			b.Error(err)
		}
		return w
	}
}

func randomHash() []byte {
	h := make([]byte, 32)
	_, _ = rand.Read(h)
	return h
}

// deposit has the shape of a courier's deposit: read the parcel and its
// compartment, save both, issue the pickup grant, append the audit event.
func deposit(ctx context.Context, tx parcelguard.Tx, w *benchWorker) error {
	p, err := tx.Parcel(ctx, w.parcel)
	if err != nil {
		return err
	}
	c, err := tx.Compartment(ctx, w.compartment)
	if err != nil {
		return err
	}
	w.n++
	now := t0.Add(time.Duration(w.n) * time.Second)
	p.CompartmentID, p.UpdatedAt, p.Deadline = c.ID, now, now.Add(parcelguard.DefaultStoragePeriod)
	c.State, c.ParcelID = parcelguard.CompartmentOccupied, p.ID
	if err := tx.SaveParcel(ctx, p); err != nil {
		return err
	}
	if err := tx.SaveCompartment(ctx, c); err != nil {
		return err
	}
	g := newGrant(parcelguard.NewID("gr", now), p.ID, w.site, c.ID, parcelguard.PurposePickup, "")
	g.CodeHash = randomHash()
	if err := tx.CreateGrant(ctx, g); err != nil {
		return err
	}
	return tx.AppendEvent(ctx, &parcelguard.Event{
		Stream: parcelguard.SiteStream(w.site), At: now, Kind: parcelguard.EventParcelDeposited,
		SiteID: w.site, CompartmentID: c.ID, ParcelID: p.ID, GrantID: g.ID, Actor: "courier:car-1/pgk_bench",
	})
}

// pickup has the shape of a recipient's pickup: find the grant by code,
// save it, the parcel and the compartment, append the audit event. (The
// grant stays active so the next iteration finds it again.)
func pickup(ctx context.Context, tx parcelguard.Tx, w *benchWorker) error {
	gs, err := tx.ActiveGrantsByCode(ctx, w.site, parcelguard.PurposePickup, [][]byte{w.code, randomHash()})
	if err != nil {
		return err
	}
	if len(gs) != 1 {
		return fmt.Errorf("found %d grants by code, want 1", len(gs))
	}
	g := gs[0]
	p, err := tx.Parcel(ctx, g.ParcelID)
	if err != nil {
		return err
	}
	c, err := tx.Compartment(ctx, g.CompartmentID)
	if err != nil {
		return err
	}
	w.n++
	now := t0.Add(time.Duration(w.n) * time.Second)
	g.UsedAt = now
	p.UpdatedAt = now
	c.State = parcelguard.CompartmentFree
	if err := tx.SaveGrant(ctx, g); err != nil {
		return err
	}
	if err := tx.SaveParcel(ctx, p); err != nil {
		return err
	}
	if err := tx.SaveCompartment(ctx, c); err != nil {
		return err
	}
	return tx.AppendEvent(ctx, &parcelguard.Event{
		Stream: parcelguard.SiteStream(w.site), At: now, Kind: parcelguard.EventParcelPickedUp,
		SiteID: w.site, CompartmentID: c.ID, ParcelID: p.ID, GrantID: g.ID, Actor: "kiosk:" + w.site,
	})
}
