package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
)

const messageColumns = `id, idempotency_key, kind, channel, recipient, language, parcel_id, grant_id,
	site_id, carrier_id, data, state, due_at, leased_until, lease, attempts, last_error, created_at, sent_at`

// EnqueueMessage stores m unless its idempotency key is taken.
func (t *tx) EnqueueMessage(ctx context.Context, m *parcelguard.Message) error {
	if m.ID == "" {
		m.ID = parcelguard.NewID("msg", m.CreatedAt)
	}
	if m.State == "" {
		m.State = parcelguard.MessagePending
	}
	if m.DueAt.IsZero() {
		m.DueAt = m.CreatedAt
	}
	data, err := encodeMap(m.Data)
	if err != nil {
		return fmt.Errorf("enqueue message %s: %w", m.IdempotencyKey, err)
	}
	_, err = t.exec(ctx, `INSERT INTO outbox (`+messageColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (idempotency_key) DO NOTHING`,
		m.ID, m.IdempotencyKey, string(m.Kind), string(m.Channel), m.Recipient, m.Language, m.ParcelID, m.GrantID,
		m.SiteID, m.CarrierID, data, string(m.State), nanos(m.DueAt), nanos(m.LeasedUntil), m.Lease, m.Attempts,
		m.LastError, nanos(m.CreatedAt), nanos(m.SentAt))
	if err != nil {
		return fmt.Errorf("enqueue message %s: %w", m.IdempotencyKey, dbErr(err))
	}
	return nil
}

// ClaimMessages leases due messages: it picks their ids, then leases them
// with UPDATE ... RETURNING, so the limit holds whatever plan SQLite picks
// for the update. The single writer serialises claims, so no two
// transactions lease the same message.
func (t *tx) ClaimMessages(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*parcelguard.Message, error) {
	token, err := newLease()
	if err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, `SELECT id FROM outbox WHERE state = 'pending' AND due_at <= ? AND leased_until <= ?
		ORDER BY due_at, id LIMIT ?`, now.UnixNano(), now.UnixNano(), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", dbErr(err))
	}
	var args []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim messages: %w", err)
		}
		args = append(args, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim messages: %w", dbErr(err))
	}
	if len(args) == 0 {
		return nil, nil
	}
	rows, err = t.query(ctx, `UPDATE outbox SET leased_until = ?, lease = ?, attempts = attempts + 1
		WHERE id IN (`+placeholders(len(args))+`) RETURNING `+messageColumns,
		append([]any{nanos(now.Add(lease)), token}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", dbErr(err))
	}
	out, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	// RETURNING has no defined order.
	slices.SortFunc(out, func(a, b *parcelguard.Message) int {
		if c := a.DueAt.Compare(b.DueAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// MarkSent marks a pending message sent.
func (t *tx) MarkSent(ctx context.Context, id string, at time.Time, note string) error {
	res, err := t.exec(ctx, `UPDATE outbox SET state = 'sent', sent_at = ?, leased_until = 0, lease = '', last_error = ?
		WHERE id = ? AND state = 'pending'`, nanos(at), note, id)
	if err != nil {
		return fmt.Errorf("mark message %s sent: %w", id, dbErr(err))
	}
	if ok, err := updated(res); err != nil || ok {
		return err
	}
	found, err := t.exists(ctx, "outbox", "id", id)
	if err != nil {
		return fmt.Errorf("mark message %s sent: %w", id, dbErr(err))
	}
	if !found {
		return fmt.Errorf("mark message %s sent: %w", id, parcelguard.ErrNotFound)
	}
	return nil // already sent or dead
}

// MarkRetry makes a leased message due again at at.
func (t *tx) MarkRetry(ctx context.Context, id, lease string, at time.Time, lastErr string) error {
	res, err := t.exec(ctx, `UPDATE outbox SET due_at = ?, leased_until = 0, lease = '', last_error = ?
		WHERE id = ? AND state = 'pending' AND lease = ? AND lease <> ''`, nanos(at), lastErr, id, lease)
	if err := t.checkSaved(ctx, res, err, "outbox", "id", id); err != nil {
		return fmt.Errorf("mark message %s for retry: %w", id, err)
	}
	return nil
}

// MarkDead gives up a leased message.
func (t *tx) MarkDead(ctx context.Context, id, lease string, at time.Time, lastErr string) error {
	res, err := t.exec(ctx, `UPDATE outbox SET state = 'dead', due_at = ?, leased_until = 0, lease = '', last_error = ?
		WHERE id = ? AND state = 'pending' AND lease = ? AND lease <> ''`, nanos(at), lastErr, id, lease)
	if err := t.checkSaved(ctx, res, err, "outbox", "id", id); err != nil {
		return fmt.Errorf("mark message %s dead: %w", id, err)
	}
	return nil
}

// Message returns one message by id.
func (t *tx) Message(ctx context.Context, id string) (*parcelguard.Message, error) {
	rows, err := t.query(ctx, `SELECT `+messageColumns+` FROM outbox WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", id, dbErr(err))
	}
	out, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", id, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("message %s: %w", id, parcelguard.ErrNotFound)
	}
	return out[0], nil
}

// MessageBacklog counts the pending messages due at or before now, by
// the outbox_due index of pending messages.
func (t *tx) MessageBacklog(ctx context.Context, now time.Time) (parcelguard.MessageBacklog, error) {
	var (
		b      parcelguard.MessageBacklog
		oldest int64
	)
	err := t.queryRow(ctx, `SELECT count(*), coalesce(min(due_at), 0) FROM outbox
		WHERE state = 'pending' AND due_at <= ?`, now.UnixNano()).Scan(&b.Due, &oldest)
	if err != nil {
		return parcelguard.MessageBacklog{}, fmt.Errorf("message backlog: %w", dbErr(err))
	}
	b.OldestDue = fromNanos(oldest)
	return b, nil
}

// Messages lists messages in id order.
func (t *tx) Messages(ctx context.Context, f parcelguard.MessageFilter) ([]*parcelguard.Message, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.ParcelID != "" {
		add("parcel_id = ?", f.ParcelID)
	}
	if f.Recipient != "" {
		add("recipient = ?", f.Recipient)
	}
	if f.Channel != "" {
		add("channel = ?", string(f.Channel))
	}
	if f.Kind != "" {
		add("kind = ?", string(f.Kind))
	}
	if f.State != "" {
		add("state = ?", string(f.State))
	}
	if f.After != "" {
		add("id > ?", f.After)
	}
	q := `SELECT ` + messageColumns + ` FROM outbox`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id LIMIT ?`
	rows, err := t.query(ctx, q, append(args, limitArg(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", dbErr(err))
	}
	out, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return out, nil
}

// AddMailboxEntry stores e unless its message is already in the mailbox.
func (t *tx) AddMailboxEntry(ctx context.Context, e *parcelguard.MailboxEntry) (bool, error) {
	if e.ID == "" {
		e.ID = parcelguard.NewID("mbx", e.CreatedAt)
	}
	res, err := t.exec(ctx, `INSERT INTO mailbox (id, message_id, channel, recipient, parcel_id, key_id, sealed, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`,
		e.ID, e.MessageID, string(e.Channel), e.Recipient, e.ParcelID, e.KeyID, e.Sealed, nanos(e.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("add mailbox entry for %s: %w", e.MessageID, dbErr(err))
	}
	ok, err := updated(res)
	if err != nil {
		return false, fmt.Errorf("add mailbox entry for %s: %w", e.MessageID, err)
	}
	return ok, nil
}

// MailboxEntries lists mailbox entries in id order.
func (t *tx) MailboxEntries(ctx context.Context, f parcelguard.MailboxFilter) ([]*parcelguard.MailboxEntry, error) {
	var (
		where []string
		args  []any
	)
	if f.Recipient != "" {
		where, args = append(where, "recipient = ?"), append(args, f.Recipient)
	}
	if f.ParcelID != "" {
		where, args = append(where, "parcel_id = ?"), append(args, f.ParcelID)
	}
	if f.After != "" {
		where, args = append(where, "id > ?"), append(args, f.After)
	}
	q := `SELECT id, message_id, channel, recipient, parcel_id, key_id, sealed, created_at FROM mailbox`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id LIMIT ?`
	rows, err := t.query(ctx, q, append(args, limitArg(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("list mailbox: %w", dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.MailboxEntry
	for rows.Next() {
		var (
			e       parcelguard.MailboxEntry
			created int64
		)
		if err := rows.Scan(&e.ID, &e.MessageID, &e.Channel, &e.Recipient, &e.ParcelID, &e.KeyID, &e.Sealed, &created); err != nil {
			return nil, fmt.Errorf("list mailbox: %w", err)
		}
		e.CreatedAt = fromNanos(created)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list mailbox: %w", err)
	}
	return out, nil
}

// scanMessages reads every row of rows (in messageColumns order) and closes it.
func scanMessages(rows *sql.Rows) ([]*parcelguard.Message, error) {
	defer rows.Close()
	var out []*parcelguard.Message
	for rows.Next() {
		var (
			m                            parcelguard.Message
			data                         string
			due, leased, created, sentAt int64
		)
		if err := rows.Scan(&m.ID, &m.IdempotencyKey, &m.Kind, &m.Channel, &m.Recipient, &m.Language, &m.ParcelID,
			&m.GrantID, &m.SiteID, &m.CarrierID, &data, &m.State, &due, &leased, &m.Lease, &m.Attempts,
			&m.LastError, &created, &sentAt); err != nil {
			return nil, err
		}
		var err error
		if m.Data, err = decodeData(data); err != nil {
			return nil, err
		}
		m.DueAt, m.LeasedUntil, m.CreatedAt, m.SentAt = fromNanos(due), fromNanos(leased), fromNanos(created), fromNanos(sentAt)
		out = append(out, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	return out, nil
}

// encodeMap encodes message data; a nil map encodes as "{}".
func encodeMap(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// newLease returns a fresh random lease token.
func newLease() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("lease token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
