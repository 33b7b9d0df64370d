package service

import (
	"context"
	"fmt"
	"math"

	"github.com/parcelguard/parcelguard"
)

// Site search bounds.
const (
	// MaxSearchRadiusM is the largest radius a site search may ask for.
	MaxSearchRadiusM = 50_000
	// DefaultSearchLimit and MaxSearchLimit bound how many sites a search
	// returns.
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
)

// SiteQuery asks for the sites near a point.
type SiteQuery struct {
	Lat, Lon float64
	RadiusM  float64
	// Size, when set, keeps only sites with a free compartment it fits.
	Size  parcelguard.SizeClass
	Limit int
}

// SiteMatch is a site found by a search.
type SiteMatch struct {
	Site      *parcelguard.Site
	DistanceM float64
	Free      map[parcelguard.SizeClass]int
}

// SearchSites finds the sites within the radius of a point, nearest first,
// with their free compartments per size class. Anyone may search: it is
// how recipients and shops pick a locker. It reveals no parcel.
func (s *Service) SearchSites(ctx context.Context, q SiteQuery) ([]SiteMatch, error) {
	var f []parcelguard.FieldError
	if math.IsNaN(q.Lat) || q.Lat < -90 || q.Lat > 90 {
		f = append(f, parcelguard.FieldError{Field: "lat", Message: "must be between -90 and 90"})
	}
	if math.IsNaN(q.Lon) || q.Lon < -180 || q.Lon > 180 {
		f = append(f, parcelguard.FieldError{Field: "lon", Message: "must be between -180 and 180"})
	}
	if math.IsNaN(q.RadiusM) || q.RadiusM <= 0 || q.RadiusM > MaxSearchRadiusM {
		f = append(f, parcelguard.FieldError{Field: "radius", Message: "must be between 1 and 50000 metres"})
	}
	if q.Size != "" && !q.Size.Valid() {
		f = append(f, parcelguard.FieldError{Field: "size", Message: "must be one of S, M, L, XL"})
	}
	if len(f) > 0 {
		return nil, parcelguard.Invalid(f...)
	}
	if q.Limit <= 0 {
		q.Limit = DefaultSearchLimit
	}
	q.Limit = min(q.Limit, MaxSearchLimit)
	var near []nearbySite
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		near, err = sitesWithin(ctx, tx, q.Lat, q.Lon, q.RadiusM, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("search sites: %w", err)
	}
	out := make([]SiteMatch, 0, min(len(near), q.Limit))
	for _, n := range near {
		if len(out) == q.Limit {
			break
		}
		if q.Size != "" && n.freeFor(q.Size) == 0 {
			continue
		}
		out = append(out, SiteMatch{Site: n.Site, DistanceM: n.DistanceM, Free: n.Free})
	}
	return out, nil
}
