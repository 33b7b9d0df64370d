package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
)

// batchRows bounds the rows of one multi-row statement, well inside
// SQLite's limit on bound parameters (32766).
const batchRows = 256

// chunkLen is how many of n remaining rows the next multi-row statement
// takes: the largest power of two up to batchRows, so that batches of
// any size use only a few statement shapes, each prepared once in the
// statement cache.
func chunkLen(n int) int {
	c := 1
	for c*2 <= min(n, batchRows) {
		c *= 2
	}
	return c
}

// MarkManySent marks pending messages sent with an UPDATE per chunk of
// ids (markSent).
func (t *tx) MarkManySent(ctx context.Context, ids []string, at time.Time, note string) error {
	if err := t.markSent(ctx, "outbox", "last_error = ?, ", []any{nanos(at), note}, ids); err != nil {
		return fmt.Errorf("mark %d messages sent: %w", len(ids), err)
	}
	return nil
}

// markSent sets state 'sent', sent_at and the columns in set (each
// "col = ?, ", bound after sent_at in setArgs, which starts with sent_at)
// on the pending rows of table among ids, with an UPDATE per chunk. Only
// if fewer rows changed than ids were given does it count the ids that
// exist, to tell rows already sent from unknown ones (ErrNotFound).
func (t *tx) markSent(ctx context.Context, table, set string, setArgs []any, ids []string) error {
	for len(ids) > 0 {
		chunk := ids[:chunkLen(len(ids))]
		ids = ids[len(chunk):]
		args := make([]any, 0, len(setArgs)+len(chunk))
		args = append(args, setArgs...)
		for _, id := range chunk {
			args = append(args, id)
		}
		res, err := t.exec(ctx, `UPDATE `+table+` SET state = 'sent', sent_at = ?, `+set+`leased_until = 0, lease = ''
			WHERE id IN (`+placeholders(len(chunk))+`) AND state = 'pending'`, args...)
		if err != nil {
			return dbErr(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if int(n) == len(chunk) {
			continue
		}
		var found int
		if err := t.queryRow(ctx, `SELECT count(*) FROM `+table+` WHERE id IN (`+placeholders(len(chunk))+`)`,
			args[len(setArgs):]...).Scan(&found); err != nil {
			return dbErr(err)
		}
		if found < len(distinct(chunk)) {
			return parcelguard.ErrNotFound
		}
	}
	return nil
}

// AddMailboxEntries stores entries with a multi-row INSERT per chunk.
func (t *tx) AddMailboxEntries(ctx context.Context, es []*parcelguard.MailboxEntry) (int, error) {
	stored := 0
	for len(es) > 0 {
		chunk := es[:chunkLen(len(es))]
		es = es[len(chunk):]
		args := make([]any, 0, 8*len(chunk))
		for _, e := range chunk {
			if e.ID == "" {
				e.ID = parcelguard.NewID("mbx", e.CreatedAt)
			}
			args = append(args, e.ID, e.MessageID, string(e.Channel), e.Recipient, e.ParcelID, e.KeyID, e.Sealed,
				nanos(e.CreatedAt))
		}
		res, err := t.exec(ctx, `INSERT INTO mailbox (id, message_id, channel, recipient, parcel_id, key_id, sealed, created_at)
			VALUES `+rowPlaceholders(len(chunk), 8)+` ON CONFLICT (message_id) DO NOTHING`, args...)
		if err != nil {
			return stored, fmt.Errorf("add %d mailbox entries: %w", len(chunk), dbErr(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return stored, fmt.Errorf("add %d mailbox entries: %w", len(chunk), err)
		}
		stored += int(n)
	}
	return stored, nil
}

// rowPlaceholders returns "(?, ?), (?, ?)" for rows rows of cols columns.
func rowPlaceholders(rows, cols int) string {
	row := "(" + placeholders(cols) + ")"
	b := make([]byte, 0, rows*(len(row)+2))
	for i := range rows {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, row...)
	}
	return string(b)
}

// distinct returns ids without repeats.
func distinct(ids []string) map[string]struct{} {
	m := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		m[id] = struct{}{}
	}
	return m
}
