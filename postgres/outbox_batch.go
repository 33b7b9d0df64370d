package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/parcelguard/parcelguard"
)

// MarkManySent marks pending messages sent in one UPDATE over an array of
// ids (markSent).
func (t *tx) MarkManySent(ctx context.Context, ids []string, at time.Time, note string) error {
	if err := t.markSent(ctx, "outbox", "last_error = $2, ", []any{nanos(at), note}, ids); err != nil {
		return fmt.Errorf("mark %d messages sent: %w", len(ids), err)
	}
	return nil
}

// markSent sets state 'sent', sent_at ($1) and the columns in set (each
// "col = $n, ", bound to setArgs after sent_at, which setArgs starts with)
// on the pending rows of table among ids, in one UPDATE over an array.
// Only if fewer rows changed than distinct ids were given does it count
// the ids that exist, to tell rows already sent from unknown ones
// (ErrNotFound).
func (t *tx) markSent(ctx context.Context, table, set string, setArgs []any, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	n, err := t.exec(ctx, markSentSQL(table, set, len(setArgs)+1), append(slices.Clip(setArgs), ids)...)
	if err != nil {
		return dbErr(err)
	}
	want := distinctCount(ids)
	if int(n) == want {
		return nil
	}
	var found int
	if err := t.queryRow(ctx, `SELECT count(*) FROM `+table+` WHERE id = ANY($1::text[])`, []any{ids}, &found); err != nil {
		return dbErr(err)
	}
	if found < want {
		return parcelguard.ErrNotFound
	}
	return nil
}

// markSentSQL is markSent's UPDATE, the ids bound to $idsArg.
//
// The rows are found by primary key alone and only then checked for
// state 'pending', written "IS TRUE" so that the planner cannot answer it
// from an index on the pending rows (outbox_due, device_commands_due).
// A queue table's statistics lag behind its churn: right after a burst
// they still say a few rows are pending, and the planner then reads the
// whole pending index to intersect it with the ids. Under a backlog of
// thousands that made recording each batch of outcomes slower the longer
// the backlog, just when the dispatcher must catch up.
func markSentSQL(table, set string, idsArg int) string {
	return `UPDATE ` + table + ` SET state = 'sent', sent_at = $1, ` + set + `leased_until = 0, lease = ''
		WHERE id = ANY($` + strconv.Itoa(idsArg) + `::text[]) AND (state = 'pending') IS TRUE`
}

// AddMailboxEntries stores entries in one INSERT from arrays, one per
// column.
func (t *tx) AddMailboxEntries(ctx context.Context, es []*parcelguard.MailboxEntry) (int, error) {
	if len(es) == 0 {
		return 0, nil
	}
	var (
		ids, msgs, channels, recipients, parcels, keys = make([]string, len(es)), make([]string, len(es)),
			make([]string, len(es)), make([]string, len(es)), make([]string, len(es)), make([]string, len(es))
		sealed  = make([][]byte, len(es))
		created = make([]int64, len(es))
	)
	for i, e := range es {
		if e.ID == "" {
			e.ID = parcelguard.NewID("mbx", e.CreatedAt)
		}
		ids[i], msgs[i], channels[i], recipients[i], parcels[i], keys[i] = e.ID, e.MessageID, string(e.Channel),
			e.Recipient, e.ParcelID, e.KeyID
		sealed[i], created[i] = e.Sealed, nanos(e.CreatedAt)
	}
	n, err := t.exec(ctx, `INSERT INTO mailbox (id, message_id, channel, recipient, parcel_id, key_id, sealed, created_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::bigint[])
		ON CONFLICT (message_id) DO NOTHING`, ids, msgs, channels, recipients, parcels, keys, sealed, created)
	if err != nil {
		return 0, fmt.Errorf("add %d mailbox entries: %w", len(es), dbErr(err))
	}
	return int(n), nil
}

// distinctCount counts ids without repeats.
func distinctCount(ids []string) int {
	m := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		m[id] = struct{}{}
	}
	return len(m)
}
