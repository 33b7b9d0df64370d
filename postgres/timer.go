package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/parcelguard/parcelguard"
)

// ScheduleTimer stores t, replacing the parcel's timer of the same kind (the
// replaced timer's id goes with it). An empty ID is filled in.
//
// Nothing waits for the upsert's outcome, so it goes with the
// transaction's next statement or its COMMIT instead of costing a round
// trip of its own; a failure (a parcel that does not exist) fails the
// transaction there. Timers are read back only by later transactions and
// by DueTimers, which sends the pending writes first.
func (t *tx) ScheduleTimer(_ context.Context, tm *parcelguard.Timer) error {
	if tm.ID == "" {
		tm.ID = parcelguard.NewID("tmr", tm.DueAt)
	}
	t.later(fmt.Sprintf("schedule %s timer %s of parcel %s", tm.Kind, tm.ID, tm.ParcelID),
		`INSERT INTO timers (id, kind, parcel_id, due_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (parcel_id, kind) DO UPDATE SET id = excluded.id, due_at = excluded.due_at`,
		tm.ID, string(tm.Kind), tm.ParcelID, nanos(tm.DueAt))
	return nil
}

// CancelTimers deletes the parcel's timers of the kinds, or all of its
// timers if no kind is given. Like ScheduleTimer's upsert, the delete goes
// with the next statement or the COMMIT.
func (t *tx) CancelTimers(_ context.Context, parcelID string, kinds ...parcelguard.TimerKind) error {
	q := `DELETE FROM timers WHERE parcel_id = $1`
	args := []any{parcelID}
	if len(kinds) > 0 {
		ks := make([]string, len(kinds))
		for i, k := range kinds {
			ks[i] = string(k)
		}
		q += ` AND kind = ANY ($2)`
		args = append(args, ks)
	}
	t.later("cancel timers of parcel "+parcelID, q, args...)
	return nil
}

// DueTimers returns up to limit timers due at or before now, oldest first.
// In an Update the timers come back locked, skipping those another
// transaction holds, so that several instances' schedulers share the due
// timers out instead of queueing on the same rows. A View cannot lock; it
// lists every due timer, and ClaimTimer decides who fires each.
func (t *tx) DueTimers(ctx context.Context, now time.Time, limit int) ([]*parcelguard.Timer, error) {
	q := `SELECT id, kind, parcel_id, due_at FROM timers WHERE due_at <= $1 ORDER BY due_at, id LIMIT $2`
	if !t.readOnly {
		q += ` FOR UPDATE SKIP LOCKED`
	}
	var out []*parcelguard.Timer
	err := t.query(ctx, q, []any{now.UnixNano(), limitArg(limit)}, func(row scanRow) error {
		var (
			tm   parcelguard.Timer
			kind string
			due  int64
		)
		if err := row.Scan(&tm.ID, &kind, &tm.ParcelID, &due); err != nil {
			return err
		}
		tm.Kind, tm.DueAt = parcelguard.TimerKind(kind), fromNanos(due)
		out = append(out, &tm)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list due timers: %w", dbErr(err))
	}
	return out, nil
}

// The reads that go ahead of ClaimTimer's delete: the timer's parcel, and
// for an expiry the parcel's grants, which firing it reads next. They read
// the timer's row, so they come before the delete in the round trip.
var (
	timerParcel = `SELECT ` + parcelColumns + ` FROM parcels WHERE id = (SELECT parcel_id FROM timers WHERE id = $1)`
	timerLocker = `SELECT ` + lockerColumns + ` FROM lockers
		WHERE site_id = (SELECT site_id FROM parcels WHERE id = (SELECT parcel_id FROM timers WHERE id = $1))`
	timerGrants = `SELECT ` + grantColumns + ` FROM grants
		WHERE parcel_id = (SELECT parcel_id FROM timers WHERE id = $1 AND kind = 'expiry') ORDER BY parcel_id, created_at, id`
)

// ClaimTimer deletes the timer, reporting whether this transaction did.
// A timer another transaction holds (claiming, rescheduling or cancelling
// it) is skipped rather than waited for and reported as not claimed: if
// that transaction rolls back, the timer is still due and the scheduler's
// next pass fires it. The same round trip reads the timer's parcel (and an
// expiry's grants) ahead (see prefetch.go).
func (t *tx) ClaimTimer(ctx context.Context, id string) (bool, error) {
	var n int64
	args := []any{id}
	var site string
	parcelSeen := func(row scanRow) (string, any, error) {
		key, v, err := prefetchedParcel(row)
		if p, _ := v.(*parcelguard.Parcel); p != nil {
			site = p.SiteID
		}
		return key, v, err
	}
	err := t.send(ctx,
		t.prefetch(timerParcel, args, parcelSeen, nil),
		t.lockerAhead(timerLocker, args, func() string { return site }),
		stmt{sql: timerGrants, args: args, fn: t.keepGrantsOfParcels},
		stmt{sql: `DELETE FROM timers WHERE id = (SELECT id FROM timers WHERE id = $1 FOR UPDATE SKIP LOCKED)`, args: args,
			fn: func(br pgx.BatchResults) error {
				ct, err := br.Exec()
				n = ct.RowsAffected()
				return err
			}})
	if err != nil {
		return false, fmt.Errorf("claim timer %s: %w", id, dbErr(err))
	}
	return n > 0, nil
}

// NextTimer returns when the earliest timer is due, or the zero time.
func (t *tx) NextTimer(ctx context.Context) (time.Time, error) {
	var due pgtype.Int8
	if err := t.queryRow(ctx, `SELECT MIN(due_at) FROM timers`, nil, &due); err != nil {
		return time.Time{}, fmt.Errorf("next timer: %w", dbErr(err))
	}
	return fromNanos(due.Int64), nil
}
