package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/parcelguard/parcelguard"
)

const eventColumns = `id, stream, seq, at, kind, site_id, compartment_id, parcel_id, grant_id, actor, data, prev_hash, hash`

func scanEvent(row scanRow) (*parcelguard.Event, error) {
	var (
		e          parcelguard.Event
		kind, data string
		at         int64
	)
	if err := row.Scan(&e.ID, &e.Stream, &e.Seq, &at, &kind, &e.SiteID, &e.CompartmentID, &e.ParcelID,
		&e.GrantID, &e.Actor, &data, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.Kind = parcelguard.EventKind(kind)
	e.At = fromNanos(at)
	e.PrevHash, e.Hash = bytesOrNil(e.PrevHash), bytesOrNil(e.Hash)
	var err error
	if e.Data, err = decodeData(data); err != nil {
		return nil, fmt.Errorf("event %s: %w", e.ID, err)
	}
	return &e, nil
}

// lockHead locks the stream's head row, creating it (at seq 0) for a new
// stream, and returns the head. At READ COMMITTED the upsert waits for a
// transaction holding the row and then sees the head it committed, so
// appends to one stream queue up behind each other while appends to other
// streams go on unhindered; the row also exists for the first append, so
// two transactions starting a stream serialize the same way.
const lockHead = `INSERT INTO stream_heads AS h (stream, seq, hash) VALUES ($1, 0, ''::bytea)
	ON CONFLICT (stream) DO UPDATE SET seq = h.seq
	RETURNING seq, hash`

// AppendEvent seals e onto the head of its stream and stores it with the
// new head. Locking and reading the head is one round trip; the event and
// head writes then go with the transaction's next statement or its COMMIT
// (a failure, such as a reused event ID, surfaces there), so the lock is
// held for as short a time as the protocol allows.
func (t *tx) AppendEvent(ctx context.Context, e *parcelguard.Event) error {
	if e.ID == "" {
		e.ID = parcelguard.NewID("evt", e.At)
	}
	var (
		headSeq  int64
		headHash []byte
	)
	if err := t.queryRow(ctx, lockHead, []any{e.Stream}, &headSeq, &headHash); err != nil {
		return fmt.Errorf("append event %s to %s: lock head: %w", e.ID, e.Stream, dbErr(err))
	}
	e.Seal(headSeq, bytesOrNil(headHash))
	what := fmt.Sprintf("append event %s to %s", e.ID, e.Stream)
	t.later(what, `INSERT INTO events (`+eventColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		e.ID, e.Stream, e.Seq, nanos(e.At), string(e.Kind), e.SiteID, e.CompartmentID, e.ParcelID, e.GrantID,
		e.Actor, string(e.DataJSON()), nullBytes(e.PrevHash), e.Hash)
	t.later(what+": move head", `UPDATE stream_heads SET seq = $2, hash = $3 WHERE stream = $1`,
		e.Stream, e.Seq, e.Hash)
	return nil
}

// Events returns the events matching f: in stream order when f.Stream is
// set (the (stream, seq) index makes paging a chain with AfterSeq a range
// scan), else in time order.
func (t *tx) Events(ctx context.Context, f parcelguard.EventFilter) ([]*parcelguard.Event, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+" $"+strconv.Itoa(len(args)))
	}
	if f.Stream != "" {
		add("stream =", f.Stream)
	}
	if f.ParcelID != "" {
		add("parcel_id =", f.ParcelID)
	}
	if f.AfterSeq > 0 {
		add("seq >", f.AfterSeq)
	}
	q := `SELECT ` + eventColumns + ` FROM events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	if f.Stream != "" {
		q += ` ORDER BY seq`
	} else {
		q += ` ORDER BY at, stream, seq`
	}
	args = append(args, limitArg(f.Limit))
	q += ` LIMIT $` + strconv.Itoa(len(args))

	var out []*parcelguard.Event
	err := t.query(ctx, q, args, func(row scanRow) error {
		e, err := scanEvent(row)
		out = append(out, e)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", dbErr(err))
	}
	return out, nil
}

// StreamHead returns the seq and hash of the stream's last event as
// recorded in stream_heads, or 0 and nil for an empty stream.
func (t *tx) StreamHead(ctx context.Context, stream string) (int64, []byte, error) {
	var (
		seq  int64
		hash []byte
	)
	err := t.queryRow(ctx, `SELECT seq, hash FROM stream_heads WHERE stream = $1`, []any{stream}, &seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read head of stream %s: %w", stream, dbErr(err))
	}
	return seq, bytesOrNil(hash), nil
}

// Streams lists every audit stream name in order. A head at seq 0 belongs
// to a stream whose first append has not committed yet.
func (t *tx) Streams(ctx context.Context) ([]string, error) {
	var out []string
	err := t.query(ctx, `SELECT stream FROM stream_heads WHERE seq > 0 ORDER BY stream`, nil, func(row scanRow) error {
		var s string
		err := row.Scan(&s)
		out = append(out, s)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list streams: %w", dbErr(err))
	}
	return out, nil
}
