package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/parcelguard/parcelguard"
)

// LockerGuard returns the site's guard, or a zero guard (Version 0) if none
// was saved yet.
func (t *tx) LockerGuard(ctx context.Context, siteID string) (*parcelguard.LockerGuard, error) {
	var (
		g                               = parcelguard.LockerGuard{SiteID: siteID}
		windowStart, lastFailure, until int64
	)
	err := t.queryRow(ctx, `SELECT failures, window_start, last_failure, blocked_until, alarmed, version
		FROM locker_guards WHERE site_id = $1`, []any{siteID},
		&g.Failures, &windowStart, &lastFailure, &until, &g.Alarmed, &g.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return &g, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get locker guard of site %s: %w", siteID, dbErr(err))
	}
	g.WindowStart, g.LastFailure, g.BlockedUntil = fromNanos(windowStart), fromNanos(lastFailure), fromNanos(until)
	return &g, nil
}

// SaveLockerGuard inserts a guard at Version 0, or updates one whose Version
// is current, and bumps Version. Two transactions saving a site's first
// guard conflict like two saving the same version. The counters live in the
// database, so every instance serving the site shares them.
func (t *tx) SaveLockerGuard(ctx context.Context, g *parcelguard.LockerGuard) error {
	if g.Version == 0 {
		_, err := t.exec(ctx, `INSERT INTO locker_guards
			(site_id, failures, window_start, last_failure, blocked_until, alarmed, version)
			VALUES ($1, $2, $3, $4, $5, $6, 1)`,
			g.SiteID, g.Failures, nanos(g.WindowStart), nanos(g.LastFailure), nanos(g.BlockedUntil), g.Alarmed)
		if err = dbErr(err); errors.Is(err, parcelguard.ErrDuplicate) {
			err = parcelguard.ErrConflict
		}
		if err != nil {
			return fmt.Errorf("save locker guard of site %s: %w", g.SiteID, err)
		}
		g.Version = 1
		return nil
	}
	n, err := t.exec(ctx, `UPDATE locker_guards SET failures = $1, window_start = $2, last_failure = $3,
		blocked_until = $4, alarmed = $5, version = version + 1
		WHERE site_id = $6 AND version = $7`,
		g.Failures, nanos(g.WindowStart), nanos(g.LastFailure), nanos(g.BlockedUntil), g.Alarmed,
		g.SiteID, g.Version)
	if err := t.saved(ctx, n, err, "locker_guards", "site_id", g.SiteID); err != nil {
		return fmt.Errorf("save locker guard of site %s: %w", g.SiteID, err)
	}
	g.Version++
	return nil
}
