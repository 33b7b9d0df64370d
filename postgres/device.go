package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parcelguard/parcelguard"
)

// SaveLocker inserts or replaces the locker record of a site.
func (t *tx) SaveLocker(ctx context.Context, l *parcelguard.Locker) error {
	_, err := t.exec(ctx, `INSERT INTO lockers (site_id, user_name, password_hash, provisioned_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (site_id) DO UPDATE SET user_name = excluded.user_name, password_hash = excluded.password_hash,
			provisioned_at = excluded.provisioned_at, last_seen_at = excluded.last_seen_at`,
		l.SiteID, l.User, l.PasswordHash, nanos(l.ProvisionedAt), nanos(l.LastSeenAt))
	if err != nil {
		return fmt.Errorf("save locker of site %s: %w", l.SiteID, dbErr(err))
	}
	return nil
}

const lockerColumns = `site_id, user_name, password_hash, provisioned_at, last_seen_at`

func scanLocker(row scanRow) (*parcelguard.Locker, error) {
	var (
		l          parcelguard.Locker
		prov, seen int64
	)
	if err := row.Scan(&l.SiteID, &l.User, &l.PasswordHash, &prov, &seen); err != nil {
		return nil, err
	}
	l.ProvisionedAt, l.LastSeenAt = fromNanos(prov), fromNanos(seen)
	return &l, nil
}

// Locker returns the locker record of a site.
func (t *tx) Locker(ctx context.Context, siteID string) (*parcelguard.Locker, error) {
	if v, ok := t.take(lockerKey(siteID)); ok {
		if l, _ := v.(*parcelguard.Locker); l != nil {
			return l, nil
		}
		return nil, fmt.Errorf("get locker of site %s: %w", siteID, parcelguard.ErrNotFound)
	}
	var l *parcelguard.Locker
	err := t.run(ctx, `SELECT `+lockerColumns+` FROM lockers WHERE site_id = $1`, []any{siteID},
		oneRow(func(row scanRow) (err error) { l, err = scanLocker(row); return err }))
	if errors.Is(err, pgx.ErrNoRows) {
		err = parcelguard.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get locker of site %s: %w", siteID, dbErr(err))
	}
	return l, nil
}

// Lockers returns every locker record by site id.
func (t *tx) Lockers(ctx context.Context) ([]*parcelguard.Locker, error) {
	var out []*parcelguard.Locker
	err := t.query(ctx, `SELECT `+lockerColumns+` FROM lockers ORDER BY site_id`, nil, func(row scanRow) error {
		l, err := scanLocker(row)
		out = append(out, l)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list lockers: %w", dbErr(err))
	}
	return out, nil
}

// TouchLocker moves the locker's LastSeenAt forward to at.
func (t *tx) TouchLocker(ctx context.Context, siteID string, at time.Time) error {
	n, err := t.exec(ctx, `UPDATE lockers SET last_seen_at = GREATEST(last_seen_at, $1) WHERE site_id = $2`, nanos(at), siteID)
	if err != nil {
		return fmt.Errorf("touch locker of site %s: %w", siteID, dbErr(err))
	}
	if n == 0 {
		return fmt.Errorf("touch locker of site %s: %w", siteID, parcelguard.ErrNotFound)
	}
	return nil
}

// MarkDeviceEventApplied records e unless its id is already recorded. A
// concurrent transaction inserting the same id makes this one wait for its
// outcome, so exactly one of them applies the event.
func (t *tx) MarkDeviceEventApplied(ctx context.Context, e *parcelguard.AppliedDeviceEvent) (bool, error) {
	n, err := t.exec(ctx, `INSERT INTO device_events_applied (id, site_id, seq, kind, at, applied_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
		e.ID, e.SiteID, e.Seq, e.Kind, nanos(e.At), nanos(e.AppliedAt))
	if err != nil {
		return false, fmt.Errorf("mark device event %s applied: %w", e.ID, dbErr(err))
	}
	return n > 0, nil
}

// AppliedDeviceEvents lists a site's applied events by seq.
func (t *tx) AppliedDeviceEvents(ctx context.Context, siteID string) ([]*parcelguard.AppliedDeviceEvent, error) {
	var out []*parcelguard.AppliedDeviceEvent
	err := t.query(ctx, `SELECT id, site_id, seq, kind, at, applied_at FROM device_events_applied
		WHERE site_id = $1 ORDER BY seq, id`, []any{siteID}, func(row scanRow) error {
		var (
			e           parcelguard.AppliedDeviceEvent
			at, applied int64
		)
		if err := row.Scan(&e.ID, &e.SiteID, &e.Seq, &e.Kind, &at, &applied); err != nil {
			return err
		}
		e.At, e.AppliedAt = fromNanos(at), fromNanos(applied)
		out = append(out, &e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("applied device events of %s: %w", siteID, dbErr(err))
	}
	return out, nil
}

const deviceCommandColumns = `id, idempotency_key, site_id, kind, grant_id, data, state, due_at, leased_until,
	lease, attempts, last_error, created_at, sent_at`

// EnqueueDeviceCommand stores c unless its idempotency key is taken.
func (t *tx) EnqueueDeviceCommand(ctx context.Context, c *parcelguard.DeviceCommand) (bool, error) {
	if c.State == "" {
		c.State = parcelguard.DeviceCommandPending
	}
	if c.DueAt.IsZero() {
		c.DueAt = c.CreatedAt
	}
	data, err := encodeMap(c.Data)
	if err != nil {
		return false, fmt.Errorf("enqueue device command %s: %w", c.IdempotencyKey, err)
	}
	n, err := t.exec(ctx, `INSERT INTO device_commands (`+deviceCommandColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (idempotency_key) DO NOTHING`,
		c.ID, c.IdempotencyKey, c.SiteID, string(c.Kind), c.GrantID, data, string(c.State), nanos(c.DueAt),
		nanos(c.LeasedUntil), c.Lease, c.Attempts, c.LastError, nanos(c.CreatedAt), nanos(c.SentAt))
	if err != nil {
		return false, fmt.Errorf("enqueue device command %s: %w", c.IdempotencyKey, dbErr(err))
	}
	return n > 0, nil
}

// ClaimDeviceCommands leases due commands in one statement, skipping those
// another transaction holds, so instances never lease the same command.
func (t *tx) ClaimDeviceCommands(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*parcelguard.DeviceCommand, error) {
	token, err := newLease()
	if err != nil {
		return nil, err
	}
	out, err := t.deviceCommands(ctx, `UPDATE device_commands SET leased_until = $1, lease = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM device_commands WHERE state = 'pending' AND due_at <= $3 AND leased_until <= $3
			ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+deviceCommandColumns, nanos(now.Add(lease)), token, nanos(now), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("claim device commands: %w", dbErr(err))
	}
	sortCommands(out)
	return out, nil
}

// sortCommands orders commands by id: RETURNING has no defined order.
func sortCommands(cs []*parcelguard.DeviceCommand) {
	slices.SortFunc(cs, func(a, b *parcelguard.DeviceCommand) int { return strings.Compare(a.ID, b.ID) })
}

// MarkDeviceCommandsSent marks pending commands sent in one UPDATE over an
// array of ids (markSent).
func (t *tx) MarkDeviceCommandsSent(ctx context.Context, ids []string, at time.Time) error {
	if err := t.markSent(ctx, "device_commands", "", []any{nanos(at)}, ids); err != nil {
		return fmt.Errorf("mark %d device commands sent: %w", len(ids), err)
	}
	return nil
}

// MarkDeviceCommandRetry makes a leased command due again at at.
func (t *tx) MarkDeviceCommandRetry(ctx context.Context, id, lease string, at time.Time, lastErr string) error {
	n, err := t.exec(ctx, `UPDATE device_commands SET due_at = $1, leased_until = 0, lease = '', last_error = $2
		WHERE id = $3 AND state = 'pending' AND lease = $4 AND lease <> ''`, nanos(at), lastErr, id, lease)
	if err != nil {
		return fmt.Errorf("retry device command %s: %w", id, dbErr(err))
	}
	if n == 0 {
		return fmt.Errorf("retry device command %s: %w", id, parcelguard.ErrConflict)
	}
	return nil
}

// DeviceCommands lists commands oldest first.
func (t *tx) DeviceCommands(ctx context.Context, f parcelguard.DeviceCommandFilter) ([]*parcelguard.DeviceCommand, error) {
	out, err := t.deviceCommands(ctx, `SELECT `+deviceCommandColumns+` FROM device_commands
		WHERE ($1 = '' OR site_id = $1) AND ($2 = '' OR state = $2) ORDER BY id LIMIT $3`,
		f.SiteID, string(f.State), limitArg(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("list device commands: %w", dbErr(err))
	}
	return out, nil
}

func (t *tx) deviceCommands(ctx context.Context, q string, args ...any) ([]*parcelguard.DeviceCommand, error) {
	var out []*parcelguard.DeviceCommand
	err := t.query(ctx, q, args, func(row scanRow) error {
		var (
			c                            parcelguard.DeviceCommand
			kind, state, data            string
			due, leased, created, sentAt int64
		)
		if err := row.Scan(&c.ID, &c.IdempotencyKey, &c.SiteID, &kind, &c.GrantID, &data, &state, &due, &leased,
			&c.Lease, &c.Attempts, &c.LastError, &created, &sentAt); err != nil {
			return err
		}
		var err error
		if c.Data, err = decodeData(data); err != nil {
			return err
		}
		c.Kind, c.State = parcelguard.DeviceCommandKind(kind), parcelguard.DeviceCommandState(state)
		c.DueAt, c.LeasedUntil, c.CreatedAt, c.SentAt = fromNanos(due), fromNanos(leased), fromNanos(created), fromNanos(sentAt)
		out = append(out, &c)
		return nil
	})
	return out, err
}
