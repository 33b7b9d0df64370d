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
// ids; only if fewer rows changed than ids were given does it count the
// ids that exist, to tell already-sent messages from unknown ones.
func (t *tx) MarkManySent(ctx context.Context, ids []string, at time.Time, note string) error {
	for len(ids) > 0 {
		chunk := ids[:chunkLen(len(ids))]
		ids = ids[len(chunk):]
		args := make([]any, 0, 2+len(chunk))
		args = append(args, nanos(at), note)
		for _, id := range chunk {
			args = append(args, id)
		}
		res, err := t.exec(ctx, `UPDATE outbox SET state = 'sent', sent_at = ?, leased_until = 0, lease = '', last_error = ?
			WHERE id IN (`+placeholders(len(chunk))+`) AND state = 'pending'`, args...)
		if err != nil {
			return fmt.Errorf("mark %d messages sent: %w", len(chunk), dbErr(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("mark %d messages sent: %w", len(chunk), err)
		}
		if int(n) == len(chunk) {
			continue
		}
		var found int
		if err := t.queryRow(ctx, `SELECT count(*) FROM outbox WHERE id IN (`+placeholders(len(chunk))+`)`,
			args[2:]...).Scan(&found); err != nil {
			return fmt.Errorf("mark %d messages sent: %w", len(chunk), dbErr(err))
		}
		if found < len(distinct(chunk)) {
			return fmt.Errorf("mark %d messages sent: %w", len(chunk), parcelguard.ErrNotFound)
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
