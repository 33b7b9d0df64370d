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
}

// sitesWithin returns the sites within maxM metres of the point, nearest
// first, leaving out the site with ID exclude.
func sitesWithin(ctx context.Context, tx parcelguard.Tx, lat, lon, maxM float64, exclude string) ([]nearbySite, error) {
	var near []nearbySite
	f := parcelguard.SiteFilter{Limit: 500}
	for {
		page, err := tx.Sites(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("list sites: %w", err)
		}
		for _, s := range page {
			if s.ID == exclude {
				continue
			}
			if d := parcelguard.DistanceM(lat, lon, s.Lat, s.Lon); d <= maxM {
				near = append(near, nearbySite{Site: s, DistanceM: d})
			}
		}
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].ID
	}
	slices.SortStableFunc(near, func(a, b nearbySite) int { return cmp.Compare(a.DistanceM, b.DistanceM) })
	return near, nil
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
