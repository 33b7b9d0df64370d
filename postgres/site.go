package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
)

const siteColumns = `id, name, address, lat, lon, time_zone, opening_hours, storage_period_ns, created_at, decommissioned_at, version`

func scanSite(row scanRow) (*parcelguard.Site, error) {
	var (
		s                      parcelguard.Site
		period, created, decom int64
	)
	if err := row.Scan(&s.ID, &s.Name, &s.Address, &s.Lat, &s.Lon, &s.TimeZone, &s.OpeningHours, &period, &created,
		&decom, &s.Version); err != nil {
		return nil, err
	}
	s.StoragePeriod = time.Duration(period)
	s.CreatedAt, s.DecommissionedAt = fromNanos(created), fromNanos(decom)
	return &s, nil
}

// CreateSite inserts s with Version 1.
func (t *tx) CreateSite(ctx context.Context, s *parcelguard.Site) error {
	_, err := t.exec(ctx, `INSERT INTO sites (`+siteColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)`,
		s.ID, s.Name, s.Address, s.Lat, s.Lon, s.TimeZone, s.OpeningHours, int64(s.StoragePeriod), nanos(s.CreatedAt),
		nanos(s.DecommissionedAt))
	if err != nil {
		return fmt.Errorf("create site %s: %w", s.ID, dbErr(err))
	}
	s.Version = 1
	return nil
}

// Site returns the site with the id.
//
// The same round trip reads the site's locker guard ahead, which a pickup
// reads next (see prefetch.go).
func (t *tx) Site(ctx context.Context, id string) (*parcelguard.Site, error) {
	if v, ok := t.take(siteKey(id)); ok {
		if s, _ := v.(*parcelguard.Site); s != nil {
			return s, nil
		}
		return nil, fmt.Errorf("get site %s: %w", id, parcelguard.ErrNotFound)
	}
	var s *parcelguard.Site
	args := []any{id}
	err := t.send(ctx, stmt{sql: `SELECT ` + siteColumns + ` FROM sites WHERE id = $1`, args: args,
		fn: oneRow(func(row scanRow) (err error) {
			s, err = scanSite(row)
			return err
		})},
		t.prefetch(`SELECT `+guardColumns+` FROM locker_guards WHERE site_id = $1`, args, prefetchedGuard,
			func() []string { return []string{guardKey(id)} }),
		t.lockerAhead(`SELECT `+lockerColumns+` FROM lockers WHERE site_id = $1`, args, func() string { return id }))
	if err != nil {
		return nil, fmt.Errorf("get site %s: %w", id, dbErr(err))
	}
	return s, nil
}

// Sites returns sites in id order, after the cursor f.After.
func (t *tx) Sites(ctx context.Context, f parcelguard.SiteFilter) ([]*parcelguard.Site, error) {
	var out []*parcelguard.Site
	err := t.query(ctx, `SELECT `+siteColumns+` FROM sites WHERE id > $1 ORDER BY id LIMIT $2`,
		[]any{f.After, limitArg(f.Limit)}, func(row scanRow) error {
			s, err := scanSite(row)
			out = append(out, s)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", dbErr(err))
	}
	return out, nil
}
