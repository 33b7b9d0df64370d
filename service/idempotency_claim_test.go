package service_test

import (
	"errors"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure a request's Idempotency-Key is claimed by its first write, with
// its effect: a second request with the key runs nothing, and a request
// whose write rolls back leaves no claim behind.
func TestIdempotencyClaimCommitsWithTheEffect(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS)
	announce := func(c *service.IdempotencyClaim, tracking string) (*parcelguard.Parcel, error) {
		return f.svc.Announce(service.WithIdempotencyClaim(f.ctx, c), f.carrierP, parcelguard.Parcel{TrackingNumber: tracking,
			Size: parcelguard.SizeS, SiteID: f.site.ID, Recipient: parcelguard.Recipient{Name: "Ada", Phone: "+4915112345678"}})
	}
	stored := func(key string) *parcelguard.IdempotencyRecord {
		t.Helper()
		var r *parcelguard.IdempotencyRecord
		err := f.db.View(f.ctx, func(tx parcelguard.Tx) (err error) {
			r, err = tx.IdempotencyKey(f.ctx, "key:pgk_carrier", key)
			return err
		})
		if errors.Is(err, parcelguard.ErrNotFound) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	first := must(service.NewIdempotencyClaim("key:pgk_carrier", "order-1", []byte("a")))(t)
	if _, err := announce(first, "PG-1"); err != nil {
		t.Fatal(err)
	}
	if r := stored("order-1"); first.Made() == nil || first.Taken() || r == nil || r.State != parcelguard.IdempotencyInFlight {
		t.Fatalf("after the first write: made %v, taken %v, stored %+v", first.Made(), first.Taken(), r)
	}

	again := must(service.NewIdempotencyClaim("key:pgk_carrier", "order-1", []byte("a")))(t)
	if _, err := announce(again, "PG-2"); !errors.Is(err, parcelguard.ErrIdempotencyInFlight) || !again.Taken() || again.Made() != nil {
		t.Fatalf("a repeat: %v, taken %v", err, again.Taken())
	}
	if page := must(f.svc.Parcels(f.ctx, f.carrierP, parcelguard.ParcelFilter{TrackingNumber: "PG-2"}))(t); len(page) != 0 {
		t.Fatalf("the repeat announced %d parcels", len(page))
	}

	failed := must(service.NewIdempotencyClaim("key:pgk_carrier", "order-2", []byte("b")))(t)
	if _, err := f.svc.Reserve(service.WithIdempotencyClaim(f.ctx, failed), f.courier, "prc_missing"); !errors.Is(err, parcelguard.ErrNotFound) {
		t.Fatalf("reserving a missing parcel: %v", err)
	}
	if failed.Made() != nil || failed.Taken() || stored("order-2") != nil {
		t.Fatalf("a rolled-back write left a claim: made %v, stored %+v", failed.Made(), stored("order-2"))
	}
}
