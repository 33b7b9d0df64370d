package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parcelguard/parcelguard"
)

// LockerGuard returns the site's guard, or a zero guard (Version 0) if none
// was saved yet.
func (t *tx) LockerGuard(ctx context.Context, siteID string) (*parcelguard.LockerGuard, error) {
	var (
		g                                     = parcelguard.LockerGuard{SiteID: siteID}
		windowStart, lastFailure, until, slow int64
	)
	err := t.queryRow(ctx, `SELECT failures, window_start, last_failure, blocked_until, alarmed, slow_until, version
		FROM locker_guards WHERE site_id = ?`, siteID).
		Scan(&g.Failures, &windowStart, &lastFailure, &until, &g.Alarmed, &slow, &g.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return &g, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get locker guard of site %s: %w", siteID, dbErr(err))
	}
	g.WindowStart, g.LastFailure, g.BlockedUntil, g.SlowUntil = fromNanos(windowStart), fromNanos(lastFailure), fromNanos(until), fromNanos(slow)
	return &g, nil
}

// SaveLockerGuard inserts a guard at Version 0, or updates one whose Version
// is current, and bumps Version. Two transactions saving a site's first
// guard conflict like two saving the same version.
func (t *tx) SaveLockerGuard(ctx context.Context, g *parcelguard.LockerGuard) error {
	if g.Version == 0 {
		_, err := t.exec(ctx, `INSERT INTO locker_guards
			(site_id, failures, window_start, last_failure, blocked_until, alarmed, slow_until, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, 1)`,
			g.SiteID, g.Failures, nanos(g.WindowStart), nanos(g.LastFailure), nanos(g.BlockedUntil), boolInt(g.Alarmed), nanos(g.SlowUntil))
		if err = dbErr(err); errors.Is(err, parcelguard.ErrDuplicate) {
			err = parcelguard.ErrConflict
		}
		if err != nil {
			return fmt.Errorf("save locker guard of site %s: %w", g.SiteID, err)
		}
		g.Version = 1
		return nil
	}
	res, err := t.exec(ctx, `UPDATE locker_guards SET failures = ?, window_start = ?, last_failure = ?,
		blocked_until = ?, alarmed = ?, slow_until = ?, version = version + 1
		WHERE site_id = ? AND version = ?`,
		g.Failures, nanos(g.WindowStart), nanos(g.LastFailure), nanos(g.BlockedUntil), boolInt(g.Alarmed), nanos(g.SlowUntil),
		g.SiteID, g.Version)
	if err := t.checkSaved(ctx, res, err, "locker_guards", "site_id", g.SiteID); err != nil {
		return fmt.Errorf("save locker guard of site %s: %w", g.SiteID, err)
	}
	g.Version++
	return nil
}
