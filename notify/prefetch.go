package notify

import (
	"context"
	"errors"
	"sync"

	"github.com/parcelguard/parcelguard"
)

// A claimed batch holds several messages about one parcel (a deposit
// notice by e-mail and SMS and the carrier's webhook), and many parcels at
// a few sites of one carrier. Rendering each message on its own read the
// parcel, site and carrier in a transaction per message and unsealed the
// same PIN twice. The dispatcher now reads what the whole batch refers to
// in one transaction before rendering it, the PINs its messages carry
// included (with a TxCodeSource; else each PIN once per batch).
// The batch is read right after it is claimed, so what a message renders
// is as current as before, give or take the batch's own rendering time.

// batchData is what a claimed batch's messages refer to, shared by the
// workers rendering them.
type batchData struct {
	parcels  map[string]*parcelguard.Parcel
	sites    map[string]*parcelguard.Site
	carriers map[string]*parcelguard.Carrier

	mu    sync.Mutex
	codes map[string]*pickupCode // by parcel
}

// pickupCode is a parcel's PIN, fetched by the first message that needs it.
type pickupCode struct {
	once  sync.Once
	pin   string
	grant *parcelguard.Grant
	err   error
}

type batchKey struct{}

// withBatch returns ctx carrying b for the renderer.
func withBatch(ctx context.Context, b *batchData) context.Context {
	return context.WithValue(ctx, batchKey{}, b)
}

func batchFrom(ctx context.Context) *batchData {
	b, _ := ctx.Value(batchKey{}).(*batchData)
	return b
}

// prefetch reads the parcels of ms, their sites and carriers in one
// transaction. A parcel that is gone is left out (its message then reads
// it alone, and finds it gone); if the read fails, it returns nil and
// every message reads for itself.
func (r *renderer) prefetch(ctx context.Context, ms []*parcelguard.Message) *batchData {
	b := &batchData{parcels: map[string]*parcelguard.Parcel{}, sites: map[string]*parcelguard.Site{},
		carriers: map[string]*parcelguard.Carrier{}, codes: map[string]*pickupCode{}}
	wantCode := map[string]bool{}
	for _, m := range ms {
		wantCode[m.ParcelID] = wantCode[m.ParcelID] || needsPickupCode(m.Kind)
	}
	tc, readsCodes := r.codes.(TxCodeSource)
	err := r.store.View(ctx, func(tx parcelguard.Tx) error {
		for _, m := range ms {
			if _, ok := b.parcels[m.ParcelID]; ok || m.ParcelID == "" {
				continue
			}
			x, err := tx.Parcel(ctx, m.ParcelID)
			if errors.Is(err, parcelguard.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if _, ok := b.sites[x.SiteID]; !ok && x.SiteID != "" {
				if b.sites[x.SiteID], err = tx.Site(ctx, x.SiteID); err != nil {
					return err
				}
			}
			if _, ok := b.carriers[x.CarrierID]; !ok {
				if b.carriers[x.CarrierID], err = tx.Carrier(ctx, x.CarrierID); err != nil {
					return err
				}
			}
			b.parcels[x.ID] = x
			if readsCodes && x.State == parcelguard.ParcelDeposited && wantCode[x.ID] {
				c := &pickupCode{}
				c.pin, c.grant, c.err = tc.PickupCodeIn(ctx, tx, x.ID)
				if c.err != nil && !errors.Is(c.err, parcelguard.ErrNotFound) {
					return c.err
				}
				c.once.Do(func() {}) // fetched: pickupCode must not fetch it again
				b.codes[x.ID] = c
			}
		}
		return nil
	})
	if err != nil {
		return nil
	}
	return b
}

// load returns the parcel of m, its site (nil if it has none) and its
// carrier: from the batch if it was read with it, else in a transaction
// of its own.
func (r *renderer) load(ctx context.Context, m *parcelguard.Message) (x *parcelguard.Parcel, site *parcelguard.Site,
	carrier *parcelguard.Carrier, err error) {
	if b := batchFrom(ctx); b != nil {
		if x := b.parcels[m.ParcelID]; x != nil {
			return x, b.sites[x.SiteID], b.carriers[x.CarrierID], nil
		}
	}
	err = r.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		if x, err = tx.Parcel(ctx, m.ParcelID); err != nil {
			return err
		}
		if x.SiteID != "" {
			if site, err = tx.Site(ctx, x.SiteID); err != nil {
				return err
			}
		}
		carrier, err = tx.Carrier(ctx, x.CarrierID)
		return err
	})
	return x, site, carrier, err
}

// pickupCode returns the parcel's PIN and grant, fetched once per batch.
func (r *renderer) pickupCode(ctx context.Context, parcelID string) (string, *parcelguard.Grant, error) {
	b := batchFrom(ctx)
	if b == nil {
		return r.codes.PickupCode(ctx, parcelID)
	}
	b.mu.Lock()
	c := b.codes[parcelID]
	if c == nil {
		c = &pickupCode{}
		b.codes[parcelID] = c
	}
	b.mu.Unlock()
	c.once.Do(func() { c.pin, c.grant, c.err = r.codes.PickupCode(ctx, parcelID) })
	return c.pin, c.grant, c.err
}

// needsPickupCode reports whether a message of kind carries the parcel's PIN.
func needsPickupCode(kind parcelguard.MessageKind) bool {
	return kind == parcelguard.MessageDeposit || kind == parcelguard.MessageReminder
}
