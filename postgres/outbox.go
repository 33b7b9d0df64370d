package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
)

const messageColumns = `id, idempotency_key, kind, channel, recipient, language, parcel_id, grant_id,
	site_id, carrier_id, data, state, due_at, leased_until, lease, attempts, last_error, created_at, sent_at`

// EnqueueMessage stores m unless its idempotency key is taken. A concurrent
// transaction enqueueing the same key makes this one wait for its outcome:
// exactly one of them stores the message. Nothing waits for the insert, so
// it goes with the transaction's next statement or its COMMIT.
func (t *tx) EnqueueMessage(_ context.Context, m *parcelguard.Message) error {
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
	t.later("enqueue message "+m.IdempotencyKey, `INSERT INTO outbox (`+messageColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
		ON CONFLICT (idempotency_key) DO NOTHING`,
		m.ID, m.IdempotencyKey, string(m.Kind), string(m.Channel), m.Recipient, m.Language, m.ParcelID, m.GrantID,
		m.SiteID, m.CarrierID, data, string(m.State), nanos(m.DueAt), nanos(m.LeasedUntil), m.Lease, m.Attempts,
		m.LastError, nanos(m.CreatedAt), nanos(m.SentAt))
	return nil
}

// ClaimMessages leases due messages in one statement. The inner SELECT
// locks the messages it picks and skips those another transaction holds,
// and at READ COMMITTED it re-checks a message committed meanwhile (leased
// by another instance) against the condition, so several dispatchers on
// one database never lease the same message nor wait for each other.
func (t *tx) ClaimMessages(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*parcelguard.Message, error) {
	token, err := newLease()
	if err != nil {
		return nil, err
	}
	out, err := t.messages(ctx, `UPDATE outbox SET leased_until = $1, lease = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND due_at <= $3 AND leased_until <= $3
			ORDER BY due_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+messageColumns,
		nanos(now.Add(lease)), token, now.UnixNano(), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", dbErr(err))
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

// The checked writes recording a message's outcome. A message already sent
// or dead is no error for markSent.
var (
	markSent = checked(`UPDATE outbox SET state = 'sent', sent_at = $1, leased_until = 0, lease = '', last_error = $2
		WHERE id = $3 AND state = 'pending'`, "outbox", "id", 3, existsIsFine)
	markRetry = checked(`UPDATE outbox SET due_at = $1, leased_until = 0, lease = '', last_error = $2
		WHERE id = $3 AND state = 'pending' AND lease = $4 AND lease <> ''`, "outbox", "id", 3, existsIsConflict)
	markDead = checked(`UPDATE outbox SET state = 'dead', due_at = $1, leased_until = 0, lease = '', last_error = $2
		WHERE id = $3 AND state = 'pending' AND lease = $4 AND lease <> ''`, "outbox", "id", 3, existsIsConflict)
)

// MarkSent marks a pending message sent. Like every outcome it goes with
// the next statement or the COMMIT (so recording it alone is one round
// trip), where an unknown message fails the transaction with ErrNotFound.
func (t *tx) MarkSent(_ context.Context, id string, at time.Time, note string) error {
	t.laterChecked("mark message "+id+" sent", markSent, nil, nanos(at), note, id)
	return nil
}

// MarkRetry makes a leased message due again at at; a message not pending
// under lease fails the transaction with ErrConflict.
func (t *tx) MarkRetry(_ context.Context, id, lease string, at time.Time, lastErr string) error {
	t.laterChecked("mark message "+id+" for retry", markRetry, nil, nanos(at), lastErr, id, lease)
	return nil
}

// MarkDead gives up a leased message, under the same condition as MarkRetry.
func (t *tx) MarkDead(_ context.Context, id, lease string, at time.Time, lastErr string) error {
	t.laterChecked("mark message "+id+" dead", markDead, nil, nanos(at), lastErr, id, lease)
	return nil
}

// Message returns one message by id.
func (t *tx) Message(ctx context.Context, id string) (*parcelguard.Message, error) {
	out, err := t.messages(ctx, `SELECT `+messageColumns+` FROM outbox WHERE id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", id, dbErr(err))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("message %s: %w", id, parcelguard.ErrNotFound)
	}
	return out[0], nil
}

// messageBacklogSQL counts the pending messages due by $1 and finds the
// oldest due time, from outbox_due alone.
const messageBacklogSQL = `SELECT count(*), coalesce(min(due_at), 0) FROM outbox
	WHERE state = 'pending' AND due_at <= $1`

// MessageBacklog counts the pending messages due at or before now, by
// the outbox_due index of pending messages.
func (t *tx) MessageBacklog(ctx context.Context, now time.Time) (parcelguard.MessageBacklog, error) {
	var (
		b      parcelguard.MessageBacklog
		oldest int64
	)
	err := t.queryRow(ctx, messageBacklogSQL, []any{now.UnixNano()}, &b.Due, &oldest)
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
		args = append(args, v)
		where = append(where, cond+" $"+strconv.Itoa(len(args)))
	}
	if f.ParcelID != "" {
		add("parcel_id =", f.ParcelID)
	}
	if f.Recipient != "" {
		add("recipient =", f.Recipient)
	}
	if f.Channel != "" {
		add("channel =", string(f.Channel))
	}
	if f.Kind != "" {
		add("kind =", string(f.Kind))
	}
	if f.State != "" {
		add("state =", string(f.State))
	}
	if f.After != "" {
		add("id >", f.After)
	}
	q := `SELECT ` + messageColumns + ` FROM outbox`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limitArg(f.Limit))
	q += ` ORDER BY id LIMIT $` + strconv.Itoa(len(args))
	out, err := t.messages(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", dbErr(err))
	}
	return out, nil
}

// messages runs a query returning messageColumns.
func (t *tx) messages(ctx context.Context, q string, args ...any) ([]*parcelguard.Message, error) {
	var out []*parcelguard.Message
	err := t.query(ctx, q, args, func(row scanRow) error {
		var (
			m                            parcelguard.Message
			kind, channel, state, data   string
			due, leased, created, sentAt int64
		)
		if err := row.Scan(&m.ID, &m.IdempotencyKey, &kind, &channel, &m.Recipient, &m.Language, &m.ParcelID,
			&m.GrantID, &m.SiteID, &m.CarrierID, &data, &state, &due, &leased, &m.Lease, &m.Attempts,
			&m.LastError, &created, &sentAt); err != nil {
			return err
		}
		var err error
		if m.Data, err = decodeData(data); err != nil {
			return err
		}
		m.Kind, m.Channel, m.State = parcelguard.MessageKind(kind), parcelguard.Channel(channel), parcelguard.MessageState(state)
		m.DueAt, m.LeasedUntil, m.CreatedAt, m.SentAt = fromNanos(due), fromNanos(leased), fromNanos(created), fromNanos(sentAt)
		out = append(out, &m)
		return nil
	})
	return out, err
}

// AddMailboxEntry stores e unless its message is already in the mailbox.
func (t *tx) AddMailboxEntry(ctx context.Context, e *parcelguard.MailboxEntry) (bool, error) {
	if e.ID == "" {
		e.ID = parcelguard.NewID("mbx", e.CreatedAt)
	}
	n, err := t.exec(ctx, `INSERT INTO mailbox (id, message_id, channel, recipient, parcel_id, key_id, sealed, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (message_id) DO NOTHING`,
		e.ID, e.MessageID, string(e.Channel), e.Recipient, e.ParcelID, e.KeyID, e.Sealed, nanos(e.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("add mailbox entry for %s: %w", e.MessageID, dbErr(err))
	}
	return n > 0, nil
}

// MailboxEntries lists mailbox entries in id order.
func (t *tx) MailboxEntries(ctx context.Context, f parcelguard.MailboxFilter) ([]*parcelguard.MailboxEntry, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+" $"+strconv.Itoa(len(args)))
	}
	if f.Recipient != "" {
		add("recipient =", f.Recipient)
	}
	if f.ParcelID != "" {
		add("parcel_id =", f.ParcelID)
	}
	if f.After != "" {
		add("id >", f.After)
	}
	q := `SELECT id, message_id, channel, recipient, parcel_id, key_id, sealed, created_at FROM mailbox`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limitArg(f.Limit))
	q += ` ORDER BY id LIMIT $` + strconv.Itoa(len(args))
	var out []*parcelguard.MailboxEntry
	err := t.query(ctx, q, args, func(row scanRow) error {
		var (
			e       parcelguard.MailboxEntry
			channel string
			created int64
		)
		if err := row.Scan(&e.ID, &e.MessageID, &channel, &e.Recipient, &e.ParcelID, &e.KeyID, &e.Sealed, &created); err != nil {
			return err
		}
		e.Channel, e.CreatedAt = parcelguard.Channel(channel), fromNanos(created)
		out = append(out, &e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list mailbox: %w", dbErr(err))
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
