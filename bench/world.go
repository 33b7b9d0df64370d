package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// benchSites spreads the work over several lockers, and so over several
// audit streams and locker guards, as production traffic is.
const benchSites = 8

// recipientPhone is every bench recipient's phone; the carrier asks for its
// last digits at pickup, as carriers do by default.
const recipientPhone = "+4915112345678"

// seedChunk is how many parcels one seeding transaction writes; seedWriters
// run such transactions concurrently.
const (
	seedChunk   = 500
	seedWriters = 4
)

// item is one parcel of a run: reserved into its own compartment, then
// deposited, then picked up or expired.
type item struct {
	parcel, compartment, site string
	// code is the pickup grant's code hash (floor); pin the PIN (service).
	code []byte
	pin  string
	// timer is the parcel's expiry timer (floor).
	timer string
	// grant is the pickup grant a locker's report names (locker pickup).
	grant string
}

// world is one run's network: a carrier, its sites and a pool of parcels,
// and later pools of doorstep parcels (seedDoorstep) and of deposited
// parcels for the lockers to report picked up (seedLocker).
type world struct {
	carrier  *parcelguard.Carrier
	sites    []*parcelguard.Site
	items    []item
	doorstep []doorstepItem
	locker   []item
	// lockerSites are the sites of the locker pool, as many as reports
	// may be in flight at once.
	lockerSites []*parcelguard.Site
}

// newWorld creates the carrier and sites through the use cases (so they
// have their audit events) and n reserved parcels straight through the
// store, in bulk, since seeding is not what is measured.
func newWorld(ctx context.Context, svc *service.Service, store parcelguard.Store, n int) (*world, error) {
	w := &world{}
	var err error
	if w.carrier, err = svc.CreateCarrier(ctx, parcelguard.System, parcelguard.Carrier{Name: "Bench Express", PhoneFactor: true}); err != nil {
		return nil, err
	}
	if w.sites, err = createSites(ctx, svc, "Bench", benchSites); err != nil {
		return nil, err
	}
	w.items = make([]item, n)
	if err := w.seedPool(ctx, store, w.items, w.sites, ""); err != nil {
		return nil, fmt.Errorf("seed parcels: %w", err)
	}
	return w, nil
}

// createSites creates n sites through the use case, named after name.
func createSites(ctx context.Context, svc *service.Service, name string, n int) ([]*parcelguard.Site, error) {
	sites := make([]*parcelguard.Site, n)
	for i := range sites {
		s, err := svc.CreateSite(ctx, parcelguard.System, parcelguard.Site{Name: fmt.Sprintf("%s %d", name, i),
			Address: fmt.Sprintf("%s Street %d", name, i+1), Lat: 52.2 + float64(i)/100, Lon: 21.0, TimeZone: "Europe/Warsaw", OpeningHours: "24/7"})
		if err != nil {
			return nil, err
		}
		sites[i] = s
	}
	return sites, nil
}

// seedPool fills items with parcels reserved at sites in turn, in chunks
// written concurrently.
func (w *world) seedPool(ctx context.Context, store parcelguard.Store, items []item, sites []*parcelguard.Site, tag string) error {
	n := len(items)
	chunks := (n + seedChunk - 1) / seedChunk
	return forEach(ctx, chunks, seedWriters, func(ctx context.Context, i int) error {
		return w.seed(ctx, store, items, sites, tag, i*seedChunk, min((i+1)*seedChunk, n))
	})
}

// seed writes items[from:to] as parcels reserved into compartments of
// their own at sites in turn; a pool's tag sets its tracking numbers and
// labels apart.
func (w *world) seed(ctx context.Context, store parcelguard.Store, items []item, sites []*parcelguard.Site, tag string, from, to int) error {
	tracking, label := "BENCH-", "B"
	if tag != "" {
		tracking, label = "BENCH-"+tag+"-", tag
	}
	now := time.Now()
	return store.Update(ctx, func(tx parcelguard.Tx) error {
		for i := from; i < to; i++ {
			site := sites[i%len(sites)]
			c := &parcelguard.Compartment{ID: parcelguard.NewID("cmp", now), SiteID: site.ID, Label: label + strconv.Itoa(i),
				Size: parcelguard.SizeM, State: parcelguard.CompartmentFree}
			p := &parcelguard.Parcel{ID: parcelguard.NewID("par", now), CarrierID: w.carrier.ID, TrackingNumber: fmt.Sprintf("%s%09d", tracking, i),
				Recipient: parcelguard.Recipient{Name: "Bench Recipient", Phone: recipientPhone, Email: "recipient@example.com", Language: "en"},
				Size:      parcelguard.SizeS, Mode: parcelguard.HandoverLocker, State: parcelguard.ParcelAnnounced, SiteID: site.ID,
				CreatedAt: now, UpdatedAt: now}
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
			items[i] = item{parcel: p.ID, compartment: c.ID, site: site.ID}
		}
		return nil
	})
}

// forEach runs fn for 0..n-1 on workers goroutines and returns the first
// errors (joined, at most a few, since they tend to repeat).
func forEach(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for range max(workers, 1) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					if len(errs) < 3 {
						errs = append(errs, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}
