package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
)

const siteColumns = `id, name, address, lat, lon, time_zone, opening_hours, storage_period_ns, created_at, decommissioned_at, version`

func scanSite(row rowScanner) (*parcelguard.Site, error) {
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
	_, err := t.exec(ctx, `INSERT INTO sites (`+siteColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		s.ID, s.Name, s.Address, s.Lat, s.Lon, s.TimeZone, s.OpeningHours, int64(s.StoragePeriod), nanos(s.CreatedAt),
		nanos(s.DecommissionedAt))
	if err != nil {
		return fmt.Errorf("create site %s: %w", s.ID, dbErr(err))
	}
	s.Version = 1
	return nil
}

// Site returns the site with the id.
func (t *tx) Site(ctx context.Context, id string) (*parcelguard.Site, error) {
	s, err := scanSite(t.queryRow(ctx, `SELECT `+siteColumns+` FROM sites WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("get site %s: %w", id, dbErr(err))
	}
	return s, nil
}

// Sites returns sites in id order, after the cursor f.After.
func (t *tx) Sites(ctx context.Context, f parcelguard.SiteFilter) ([]*parcelguard.Site, error) {
	rows, err := t.query(ctx, `SELECT `+siteColumns+` FROM sites WHERE id > ? ORDER BY id LIMIT ?`, f.After, limitArg(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.Site
	for rows.Next() {
		s, err := scanSite(rows)
		if err != nil {
			return nil, fmt.Errorf("list sites: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	return out, nil
}
