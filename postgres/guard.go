package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/parcelguard/parcelguard"
)

const guardColumns = `site_id, failures, window_start, last_failure, blocked_until, alarmed, slow_until, version`

func scanGuard(row scanRow) (*parcelguard.LockerGuard, error) {
	var (
		g                                     parcelguard.LockerGuard
		windowStart, lastFailure, until, slow int64
	)
	if err := row.Scan(&g.SiteID, &g.Failures, &windowStart, &lastFailure, &until, &g.Alarmed, &slow, &g.Version); err != nil {
		return nil, err
	}
	g.WindowStart, g.LastFailure, g.BlockedUntil, g.SlowUntil = fromNanos(windowStart), fromNanos(lastFailure), fromNanos(until), fromNanos(slow)
	return &g, nil
}

func prefetchedGuard(row scanRow) (string, any, error) {
	g, err := scanGuard(row)
	if err != nil {
		return "", nil, err
	}
	return guardKey(g.SiteID), g, nil
}

// LockerGuard returns the site's guard, or a zero guard (Version 0) if none
// was saved yet.
func (t *tx) LockerGuard(ctx context.Context, siteID string) (*parcelguard.LockerGuard, error) {
	if v, ok := t.take(guardKey(siteID)); ok {
		if g, _ := v.(*parcelguard.LockerGuard); g != nil {
			return g, nil
		}
		return &parcelguard.LockerGuard{SiteID: siteID}, nil
	}
	var g *parcelguard.LockerGuard
	err := t.run(ctx, `SELECT `+guardColumns+` FROM locker_guards WHERE site_id = $1`, []any{siteID},
		oneRow(func(row scanRow) (err error) {
			g, err = scanGuard(row)
			return err
		}))
	if errors.Is(err, pgx.ErrNoRows) {
		return &parcelguard.LockerGuard{SiteID: siteID}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get locker guard of site %s: %w", siteID, dbErr(err))
	}
	return g, nil
}

// The checked writes of SaveLockerGuard: the first guard of a site, and a
// later version.
var (
	insertGuard = checkedInsert(`INSERT INTO locker_guards
		(site_id, failures, window_start, last_failure, blocked_until, alarmed, slow_until, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 1) ON CONFLICT (site_id) DO NOTHING`)
	updateGuard = checked(`UPDATE locker_guards SET failures = $1, window_start = $2, last_failure = $3,
		blocked_until = $4, alarmed = $5, slow_until = $6, version = version + 1
		WHERE site_id = $7 AND version = $8`, "locker_guards", "site_id", 7, existsIsConflict)
)

// SaveLockerGuard inserts a guard at Version 0, or updates one whose Version
// is current, and bumps Version. Two transactions saving a site's first
// guard conflict like two saving the same version. The counters live in the
// database, so every instance serving the site shares them. Like SaveParcel
// the write goes with the next statement or the COMMIT, where a conflict
// fails the transaction with ErrConflict.
func (t *tx) SaveLockerGuard(_ context.Context, g *parcelguard.LockerGuard) error {
	t.forget(guardKey(g.SiteID))
	what := "save locker guard of site " + g.SiteID
	v := g.Version
	undo := func() { g.Version = v }
	if g.Version == 0 {
		t.laterChecked(what, insertGuard, undo,
			g.SiteID, g.Failures, nanos(g.WindowStart), nanos(g.LastFailure), nanos(g.BlockedUntil), g.Alarmed, nanos(g.SlowUntil))
		g.Version = 1
		return nil
	}
	t.laterChecked(what, updateGuard, undo,
		g.Failures, nanos(g.WindowStart), nanos(g.LastFailure), nanos(g.BlockedUntil), g.Alarmed, nanos(g.SlowUntil),
		g.SiteID, g.Version)
	g.Version++
	return nil
}
