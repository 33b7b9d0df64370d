package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
)

// SaveLocker inserts or replaces the locker record of a site.
func (t *tx) SaveLocker(ctx context.Context, l *parcelguard.Locker) error {
	_, err := t.exec(ctx, `INSERT INTO lockers (site_id, user_name, password_hash, provisioned_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (site_id) DO UPDATE SET user_name = excluded.user_name, password_hash = excluded.password_hash,
			provisioned_at = excluded.provisioned_at, last_seen_at = excluded.last_seen_at`,
		l.SiteID, l.User, l.PasswordHash, nanos(l.ProvisionedAt), nanos(l.LastSeenAt))
	if err != nil {
		return fmt.Errorf("save locker of site %s: %w", l.SiteID, dbErr(err))
	}
	return nil
}

const lockerColumns = `site_id, user_name, password_hash, provisioned_at, last_seen_at`

func scanLocker(r rowScanner) (*parcelguard.Locker, error) {
	var (
		l          parcelguard.Locker
		prov, seen int64
	)
	if err := r.Scan(&l.SiteID, &l.User, &l.PasswordHash, &prov, &seen); err != nil {
		return nil, err
	}
	l.ProvisionedAt, l.LastSeenAt = fromNanos(prov), fromNanos(seen)
	return &l, nil
}

// Locker returns the locker record of a site.
func (t *tx) Locker(ctx context.Context, siteID string) (*parcelguard.Locker, error) {
	l, err := scanLocker(t.queryRow(ctx, `SELECT `+lockerColumns+` FROM lockers WHERE site_id = ?`, siteID))
	if err != nil {
		return nil, fmt.Errorf("get locker of site %s: %w", siteID, dbErr(err))
	}
	return l, nil
}

// Lockers returns every locker record by site id.
func (t *tx) Lockers(ctx context.Context) ([]*parcelguard.Locker, error) {
	rows, err := t.query(ctx, `SELECT `+lockerColumns+` FROM lockers ORDER BY site_id`)
	if err != nil {
		return nil, fmt.Errorf("list lockers: %w", dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.Locker
	for rows.Next() {
		l, err := scanLocker(rows)
		if err != nil {
			return nil, fmt.Errorf("list lockers: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list lockers: %w", dbErr(err))
	}
	return out, nil
}

// TouchLocker moves the locker's LastSeenAt forward to at.
func (t *tx) TouchLocker(ctx context.Context, siteID string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE lockers SET last_seen_at = MAX(last_seen_at, ?) WHERE site_id = ?`, nanos(at), siteID)
	if err != nil {
		return fmt.Errorf("touch locker of site %s: %w", siteID, dbErr(err))
	}
	if ok, err := updated(res); err != nil || !ok {
		if err == nil {
			err = parcelguard.ErrNotFound
		}
		return fmt.Errorf("touch locker of site %s: %w", siteID, err)
	}
	return nil
}

// MarkDeviceEventApplied records e unless its id is already recorded.
func (t *tx) MarkDeviceEventApplied(ctx context.Context, e *parcelguard.AppliedDeviceEvent) (bool, error) {
	res, err := t.exec(ctx, `INSERT INTO device_events_applied (id, site_id, seq, kind, at, applied_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		e.ID, e.SiteID, e.Seq, e.Kind, nanos(e.At), nanos(e.AppliedAt))
	if err != nil {
		return false, fmt.Errorf("mark device event %s applied: %w", e.ID, dbErr(err))
	}
	ok, err := updated(res)
	if err != nil {
		return false, fmt.Errorf("mark device event %s applied: %w", e.ID, err)
	}
	return ok, nil
}

// AppliedDeviceEvents lists a site's applied events by seq.
func (t *tx) AppliedDeviceEvents(ctx context.Context, siteID string) ([]*parcelguard.AppliedDeviceEvent, error) {
	rows, err := t.query(ctx, `SELECT id, site_id, seq, kind, at, applied_at FROM device_events_applied
		WHERE site_id = ? ORDER BY seq, id`, siteID)
	if err != nil {
		return nil, fmt.Errorf("applied device events of %s: %w", siteID, dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.AppliedDeviceEvent
	for rows.Next() {
		var (
			e           parcelguard.AppliedDeviceEvent
			at, applied int64
		)
		if err := rows.Scan(&e.ID, &e.SiteID, &e.Seq, &e.Kind, &at, &applied); err != nil {
			return nil, fmt.Errorf("applied device events of %s: %w", siteID, err)
		}
		e.At, e.AppliedAt = fromNanos(at), fromNanos(applied)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
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
	res, err := t.exec(ctx, `INSERT INTO device_commands (`+deviceCommandColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
		c.ID, c.IdempotencyKey, c.SiteID, string(c.Kind), c.GrantID, data, string(c.State), nanos(c.DueAt),
		nanos(c.LeasedUntil), c.Lease, c.Attempts, c.LastError, nanos(c.CreatedAt), nanos(c.SentAt))
	if err != nil {
		return false, fmt.Errorf("enqueue device command %s: %w", c.IdempotencyKey, dbErr(err))
	}
	ok, err := updated(res)
	if err != nil {
		return false, fmt.Errorf("enqueue device command %s: %w", c.IdempotencyKey, err)
	}
	return ok, nil
}

// ClaimDeviceCommands leases the due commands in one UPDATE … RETURNING,
// which the single writer makes exclusive.
func (t *tx) ClaimDeviceCommands(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*parcelguard.DeviceCommand, error) {
	token, err := newLease()
	if err != nil {
		return nil, err
	}
	cmds, err := t.deviceCommands(ctx, `UPDATE device_commands SET leased_until = ?, lease = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM device_commands WHERE state = 'pending' AND due_at <= ? AND leased_until <= ?
			ORDER BY id LIMIT ?)
		RETURNING `+deviceCommandColumns, nanos(now.Add(lease)), token, nanos(now), nanos(now), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("claim device commands: %w", err)
	}
	// RETURNING has no defined order.
	slices.SortFunc(cmds, func(a, b *parcelguard.DeviceCommand) int { return strings.Compare(a.ID, b.ID) })
	return cmds, nil
}

// MarkDeviceCommandsSent marks pending commands sent with an UPDATE per
// chunk of ids.
func (t *tx) MarkDeviceCommandsSent(ctx context.Context, ids []string, at time.Time) error {
	if err := t.markSent(ctx, "device_commands", "", []any{nanos(at)}, ids); err != nil {
		return fmt.Errorf("mark %d device commands sent: %w", len(ids), err)
	}
	return nil
}

// MarkDeviceCommandRetry makes a leased command due again at at.
func (t *tx) MarkDeviceCommandRetry(ctx context.Context, id, lease string, at time.Time, lastErr string) error {
	res, err := t.exec(ctx, `UPDATE device_commands SET due_at = ?, leased_until = 0, lease = '', last_error = ?
		WHERE id = ? AND state = 'pending' AND lease = ?`, nanos(at), lastErr, id, lease)
	if err != nil {
		return fmt.Errorf("retry device command %s: %w", id, dbErr(err))
	}
	if ok, err := updated(res); err != nil || !ok {
		if err == nil {
			err = parcelguard.ErrConflict
		}
		return fmt.Errorf("retry device command %s: %w", id, err)
	}
	return nil
}

// DeviceCommands lists commands oldest first.
func (t *tx) DeviceCommands(ctx context.Context, f parcelguard.DeviceCommandFilter) ([]*parcelguard.DeviceCommand, error) {
	cmds, err := t.deviceCommands(ctx, `SELECT `+deviceCommandColumns+` FROM device_commands
		WHERE (? = '' OR site_id = ?) AND (? = '' OR state = ?) ORDER BY id LIMIT ?`,
		f.SiteID, f.SiteID, string(f.State), string(f.State), limitArg(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("list device commands: %w", err)
	}
	return cmds, nil
}

func (t *tx) deviceCommands(ctx context.Context, q string, args ...any) ([]*parcelguard.DeviceCommand, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []*parcelguard.DeviceCommand
	for rows.Next() {
		var (
			c                            parcelguard.DeviceCommand
			kind, state, data            string
			due, leased, created, sentAt int64
		)
		if err := rows.Scan(&c.ID, &c.IdempotencyKey, &c.SiteID, &kind, &c.GrantID, &data, &state, &due, &leased,
			&c.Lease, &c.Attempts, &c.LastError, &created, &sentAt); err != nil {
			return nil, err
		}
		c.Kind, c.State = parcelguard.DeviceCommandKind(kind), parcelguard.DeviceCommandState(state)
		c.DueAt, c.LeasedUntil, c.CreatedAt, c.SentAt = fromNanos(due), fromNanos(leased), fromNanos(created), fromNanos(sentAt)
		if c.Data, err = decodeData(data); err != nil {
			return nil, err
		}
		out = append(out, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	return out, nil
}
