package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

func testNetwork(t *testing.T, open Opener) {
	// Ensure SitesInBox returns exactly the sites inside the box, each with
	// its free compartments counted per size class (busy ones not counted).
	t.Run("SitesInBox", func(t *testing.T) {
		s := open(t)
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			for i, pos := range [][2]float64{{52.20, 21.00}, {52.21, 21.01}, {52.40, 21.00}, {50.06, 19.94}} {
				site := newSite(fmt.Sprintf("site-%d", i+1))
				site.Lat, site.Lon = pos[0], pos[1]
				check(tx.CreateSite(ctx, site))
			}
			for i, size := range []parcelguard.SizeClass{parcelguard.SizeS, parcelguard.SizeS, parcelguard.SizeM, parcelguard.SizeXL, parcelguard.SizeM} {
				c := newCompartment(fmt.Sprintf("cmp-%d", i), "site-1", fmt.Sprintf("A%02d", i), size)
				if i == 4 {
					c.State = parcelguard.CompartmentOutOfOrder
				}
				check(tx.CreateCompartment(ctx, c))
			}
			return nil
		})
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.SitesInBox(ctx, parcelguard.GeoBox{MinLat: 52.1, MaxLat: 52.3, MinLon: 20.9, MaxLon: 21.1}, 0)
			noErr(t, err)
			if len(got) != 2 || got[0].Site.ID != "site-1" || got[1].Site.ID != "site-2" {
				t.Fatalf("got %d sites %v, want site-1 and site-2", len(got), got)
			}
			equal(t, got[0].Free, map[parcelguard.SizeClass]int{"S": 2, "M": 1, "L": 0, "XL": 1})
			equal(t, got[1].Free, map[parcelguard.SizeClass]int{"S": 0, "M": 0, "L": 0, "XL": 0})
			if got[0].Site.Name != "Locker site-1" || got[0].Site.OpeningHours != "24/7" {
				t.Fatalf("site fields lost: %+v", got[0].Site)
			}
			limited, err := tx.SitesInBox(ctx, parcelguard.GeoBox{MinLat: -90, MaxLat: 90, MinLon: -180, MaxLon: 180}, 3)
			noErr(t, err)
			if len(limited) != 3 {
				t.Fatalf("limit 3 gave %d sites", len(limited))
			}
			return nil
		})
	})

	// Ensure a decommissioned site is in no box, whatever room it has, and
	// its decommissioning reads back.
	t.Run("SitesInBoxSkipsDecommissioned", func(t *testing.T) {
		s := open(t)
		gone := newSite("site-gone")
		stay := newSite("site-stay")
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			check(tx.CreateSite(ctx, gone))
			check(tx.CreateSite(ctx, stay))
			return tx.CreateCompartment(ctx, newCompartment("cmp-gone", gone.ID, "A1", parcelguard.SizeS))
		})
		gone.DecommissionedAt = t0.Add(time.Hour)
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveSite(ctx, gone) })
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.SitesInBox(ctx, parcelguard.GeoBox{MinLat: -90, MaxLat: 90, MinLon: -180, MaxLon: 180}, 0)
			noErr(t, err)
			if len(got) != 1 || got[0].Site.ID != stay.ID {
				t.Fatalf("box holds %d sites %v, want only %s", len(got), got, stay.ID)
			}
			equal(t, got[0].Site, stay)
			back, err := tx.Site(ctx, gone.ID)
			noErr(t, err)
			equal(t, back, gone)
			if !back.Decommissioned() {
				t.Fatal("decommissioning did not read back")
			}
			return nil
		})
	})

	// Ensure sites and carriers follow the version convention: created at
	// 1, bumped by each save, and a save of a stale Version is ErrConflict
	// and changes nothing.
	t.Run("Versions", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		if w.site.Version != 1 || w.carrier.Version != 1 {
			t.Fatalf("created at versions %d and %d, want 1", w.site.Version, w.carrier.Version)
		}
		stale, staleCarrier := *w.site, *w.carrier
		w.site.Name, w.carrier.Name = "First", "First"
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			check(tx.SaveSite(ctx, w.site))
			return tx.SaveCarrier(ctx, w.carrier)
		})
		if w.site.Version != 2 || w.carrier.Version != 2 {
			t.Fatalf("saved at versions %d and %d, want 2", w.site.Version, w.carrier.Version)
		}
		stale.Name, staleCarrier.Name = "Lost", "Lost"
		err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveSite(ctx, &stale) })
		wantErr(t, err, parcelguard.ErrConflict)
		err = tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveCarrier(ctx, &staleCarrier) })
		wantErr(t, err, parcelguard.ErrConflict)
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			site, err := tx.Site(ctx, w.site.ID)
			noErr(t, err)
			equal(t, site, w.site)
			c, err := tx.Carrier(ctx, w.carrier.ID)
			noErr(t, err)
			equal(t, c, w.carrier)
			all, err := tx.Carriers(ctx, parcelguard.CarrierFilter{})
			noErr(t, err)
			equal(t, all[0], w.carrier)
			return nil
		})
	})

	// Ensure SaveSite overwrites a site and refuses an unknown one.
	t.Run("SaveSite", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		w.site.Name, w.site.OpeningHours, w.site.Lat = "Renamed", "Mo-Fr 8-20", 10
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveSite(ctx, w.site) })
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.Site(ctx, w.site.ID)
			noErr(t, err)
			equal(t, got, w.site)
			return nil
		})
		err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveSite(ctx, newSite("nope")) })
		wantErr(t, err, parcelguard.ErrNotFound)
	})

	// Ensure carriers list in id order, save, and keep a policy (default
	// until one is saved).
	t.Run("Carriers", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			all, err := tx.Carriers(ctx, parcelguard.CarrierFilter{})
			noErr(t, err)
			equal(t, all, []*parcelguard.Carrier{w.carrier, w.carrier2})
			page, err := tx.Carriers(ctx, parcelguard.CarrierFilter{After: w.carrier.ID, Limit: 5})
			noErr(t, err)
			equal(t, page, []*parcelguard.Carrier{w.carrier2})
			p, err := tx.CarrierPolicy(ctx, w.carrier.ID)
			noErr(t, err)
			equal(t, p, parcelguard.DefaultCarrierPolicy(w.carrier.ID))
			return nil
		})
		w.carrier.Name, w.carrier.PhoneFactor, w.carrier.StoragePeriod = "New name", false, time.Hour
		pol := &parcelguard.CarrierPolicy{CarrierID: w.carrier.ID, Fallback: parcelguard.FallbackAssign, MaxDistanceM: 1500, UpdatedAt: t0}
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			check(tx.SaveCarrier(ctx, w.carrier))
			check(tx.SaveCarrierPolicy(ctx, &parcelguard.CarrierPolicy{CarrierID: w.carrier.ID, Fallback: parcelguard.FallbackPropose}))
			return tx.SaveCarrierPolicy(ctx, pol)
		})
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.Carrier(ctx, w.carrier.ID)
			noErr(t, err)
			equal(t, got, w.carrier)
			p, err := tx.CarrierPolicy(ctx, w.carrier.ID)
			noErr(t, err)
			equal(t, p, pol)
			return nil
		})
		err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveCarrier(ctx, newCarrier("nope")) })
		wantErr(t, err, parcelguard.ErrNotFound)
	})

	// Ensure keys list by filter in prefix order and a revocation keeps its
	// first time.
	t.Run("APIKeys", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		keys := []*parcelguard.APIKey{
			{Prefix: "pgk_a", SecretHash: codeHash("a"), Role: parcelguard.RoleCarrier, CarrierID: w.carrier.ID, Name: "a", CreatedAt: t0},
			{Prefix: "pgk_b", SecretHash: codeHash("b"), Role: parcelguard.RoleCourier, CarrierID: w.carrier.ID, CreatedAt: t0},
			{Prefix: "pgk_c", SecretHash: codeHash("c"), Role: parcelguard.RoleKiosk, SiteID: w.site.ID, CreatedAt: t0},
			{Prefix: "pgk_d", SecretHash: codeHash("d"), Role: parcelguard.RoleCarrier, CarrierID: w.carrier2.ID, CreatedAt: t0},
		}
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			for _, k := range keys {
				check(tx.CreateAPIKey(ctx, k))
			}
			return nil
		})
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			check(tx.RevokeAPIKey(ctx, "pgk_b", t0.Add(time.Hour)))
			return tx.RevokeAPIKey(ctx, "pgk_b", t0.Add(2*time.Hour))
		})
		keys[1].RevokedAt = t0.Add(time.Hour)
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			all, err := tx.APIKeys(ctx, parcelguard.APIKeyFilter{})
			noErr(t, err)
			equal(t, all, keys)
			mine, err := tx.APIKeys(ctx, parcelguard.APIKeyFilter{CarrierID: w.carrier.ID})
			noErr(t, err)
			equal(t, mine, keys[:2])
			carriers, err := tx.APIKeys(ctx, parcelguard.APIKeyFilter{Role: parcelguard.RoleCarrier, After: "pgk_a", Limit: 1})
			noErr(t, err)
			equal(t, carriers, keys[3:])
			return nil
		})
		err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.RevokeAPIKey(ctx, "pgk_zz", t0) })
		wantErr(t, err, parcelguard.ErrNotFound)
	})

	// Ensure a delegate reads back by grant and by parcel, and a grant
	// without one is ErrNotFound.
	t.Run("Delegates", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		g1 := newGrant("grt-1", w.parcel.ID, w.site.ID, w.compartment.ID, parcelguard.PurposePickup, "111111")
		g2 := newGrant("grt-2", w.parcel.ID, w.site.ID, w.compartment.ID, parcelguard.PurposePickup, "222222")
		g3 := newGrant("grt-3", w.parcel.ID, w.site.ID, w.compartment.ID, parcelguard.PurposePickup, "333333")
		d2 := &parcelguard.Delegate{GrantID: "grt-2", ParcelID: w.parcel.ID, Name: "Jan", Phone: "+48600100300", CreatedAt: t0}
		d3 := &parcelguard.Delegate{GrantID: "grt-3", ParcelID: w.parcel.ID, Name: "Ola", Email: "ola@example.com", CreatedAt: t0.Add(time.Minute)}
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			for _, g := range []*parcelguard.Grant{g1, g2, g3} {
				check(tx.CreateGrant(ctx, g))
			}
			check(tx.CreateDelegate(ctx, d3))
			return tx.CreateDelegate(ctx, d2)
		})
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.Delegate(ctx, "grt-2")
			noErr(t, err)
			equal(t, got, d2)
			_, err = tx.Delegate(ctx, "grt-1")
			wantErr(t, err, parcelguard.ErrNotFound)
			all, err := tx.DelegatesOfParcel(ctx, w.parcel.ID)
			noErr(t, err)
			equal(t, all, []*parcelguard.Delegate{d2, d3})
			return nil
		})
		err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateDelegate(ctx, d2) })
		wantErr(t, err, parcelguard.ErrDuplicate)
	})
}
