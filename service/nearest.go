package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/parcelguard/parcelguard"
)

// nearbySite is a site and its distance from a point.
type nearbySite struct {
	Site      *parcelguard.Site
	DistanceM float64
	// Free counts the site's free compartments per size class.
	Free map[parcelguard.SizeClass]int
}

// sitesWithin returns the sites within maxM metres of the point, nearest
// first, leaving out the site with ID exclude. The store reads the
// bounding box of the circle through its coordinate index, with each
// site's free compartments; the exact distance filters the box's corners.
func sitesWithin(ctx context.Context, tx parcelguard.Tx, lat, lon, maxM float64, exclude string) ([]nearbySite, error) {
	box, err := tx.SitesInBox(ctx, parcelguard.BoxAround(lat, lon, maxM), 0)
	if err != nil {
		return nil, fmt.Errorf("sites near %.5f,%.5f: %w", lat, lon, err)
	}
	near := make([]nearbySite, 0, len(box))
	for _, a := range box {
		if a.Site.ID == exclude {
			continue
		}
		if d := parcelguard.DistanceM(lat, lon, a.Site.Lat, a.Site.Lon); d <= maxM {
			near = append(near, nearbySite{Site: a.Site, DistanceM: d, Free: a.Free})
		}
	}
	// Ties (same spot) break by id, so answers are stable.
	slices.SortStableFunc(near, func(a, b nearbySite) int {
		return cmp.Or(cmp.Compare(a.DistanceM, b.DistanceM), cmp.Compare(a.Site.ID, b.Site.ID))
	})
	return near, nil
}

// freeFor counts the free compartments of n a parcel of the size fits.
func (n nearbySite) freeFor(size parcelguard.SizeClass) int {
	a := parcelguard.SiteAvailability{Free: n.Free}
	return a.FreeFor(size)
}

// nearestFreeSite returns the site nearest to the point, within maxM metres
// and other than exclude, that has a free compartment a parcel of the size
// fits, with that compartment. It returns an error matching
// parcelguard.ErrNoFreeCompartment when there is none.
func nearestFreeSite(ctx context.Context, tx parcelguard.Tx, lat, lon float64, size parcelguard.SizeClass, maxM float64, exclude string) (nearbySite, *parcelguard.Compartment, error) {
	near, err := sitesWithin(ctx, tx, lat, lon, maxM, exclude)
	if err != nil {
		return nearbySite{}, nil, err
	}
	for _, n := range near {
		if n.freeFor(size) == 0 {
			continue
		}
		c, err := tx.FreeCompartment(ctx, n.Site.ID, size)
		if errors.Is(err, parcelguard.ErrNoFreeCompartment) {
			continue
		}
		if err != nil {
			return nearbySite{}, nil, fmt.Errorf("free compartment at %s: %w", n.Site.ID, err)
		}
		return n, c, nil
	}
	return nearbySite{}, nil, fmt.Errorf("no site within %.0f m with a free %s compartment: %w", maxM, size, parcelguard.ErrNoFreeCompartment)
}
