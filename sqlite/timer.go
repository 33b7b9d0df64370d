package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
)

// ScheduleTimer stores t, replacing the parcel's timer of the same kind (the
// replaced timer's id goes with it). An empty ID is filled in.
func (t *tx) ScheduleTimer(ctx context.Context, tm *parcelguard.Timer) error {
	if tm.ID == "" {
		tm.ID = parcelguard.NewID("tmr", tm.DueAt)
	}
	_, err := t.exec(ctx, `INSERT INTO timers (id, kind, parcel_id, due_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (parcel_id, kind) DO UPDATE SET id = excluded.id, due_at = excluded.due_at`,
		tm.ID, string(tm.Kind), tm.ParcelID, nanos(tm.DueAt))
	if err != nil {
		return fmt.Errorf("schedule %s timer %s of parcel %s: %w", tm.Kind, tm.ID, tm.ParcelID, dbErr(err))
	}
	return nil
}

// CancelTimers deletes the parcel's timers of the kinds, or all of its
// timers if no kind is given.
func (t *tx) CancelTimers(ctx context.Context, parcelID string, kinds ...parcelguard.TimerKind) error {
	q := `DELETE FROM timers WHERE parcel_id = ?`
	args := []any{parcelID}
	if len(kinds) > 0 {
		q += ` AND kind IN (` + placeholders(len(kinds)) + `)`
		for _, k := range kinds {
			args = append(args, string(k))
		}
	}
	if _, err := t.exec(ctx, q, args...); err != nil {
		return fmt.Errorf("cancel timers of parcel %s: %w", parcelID, dbErr(err))
	}
	return nil
}

// DueTimers returns up to limit timers due at or before now, oldest first.
// With a single writer no other transaction can hold a timer, so there is
// nothing to skip.
func (t *tx) DueTimers(ctx context.Context, now time.Time, limit int) ([]*parcelguard.Timer, error) {
	rows, err := t.query(ctx, `SELECT id, kind, parcel_id, due_at FROM timers WHERE due_at <= ?
		ORDER BY due_at, id LIMIT ?`, now.UnixNano(), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list due timers: %w", dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.Timer
	for rows.Next() {
		var (
			tm  parcelguard.Timer
			due int64
		)
		if err := rows.Scan(&tm.ID, &tm.Kind, &tm.ParcelID, &due); err != nil {
			return nil, fmt.Errorf("list due timers: %w", err)
		}
		tm.DueAt = fromNanos(due)
		out = append(out, &tm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list due timers: %w", err)
	}
	return out, nil
}

// ClaimTimer deletes the timer, reporting whether it still existed.
func (t *tx) ClaimTimer(ctx context.Context, id string) (bool, error) {
	res, err := t.exec(ctx, `DELETE FROM timers WHERE id = ?`, id)
	if err != nil {
		return false, fmt.Errorf("claim timer %s: %w", id, dbErr(err))
	}
	ok, err := updated(res)
	if err != nil {
		return false, fmt.Errorf("claim timer %s: %w", id, err)
	}
	return ok, nil
}

// NextTimer returns when the earliest timer is due, or the zero time.
func (t *tx) NextTimer(ctx context.Context) (time.Time, error) {
	var due sql.NullInt64
	if err := t.queryRow(ctx, `SELECT MIN(due_at) FROM timers`).Scan(&due); err != nil {
		return time.Time{}, fmt.Errorf("next timer: %w", dbErr(err))
	}
	return fromNanos(due.Int64), nil
}
