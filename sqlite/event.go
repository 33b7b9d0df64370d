package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/parcelguard/parcelguard"
)

const eventColumns = `id, stream, seq, at, kind, site_id, compartment_id, parcel_id, grant_id, actor, data, prev_hash, hash`

func scanEvent(row rowScanner) (*parcelguard.Event, error) {
	var (
		e    parcelguard.Event
		at   int64
		data string
	)
	if err := row.Scan(&e.ID, &e.Stream, &e.Seq, &at, &e.Kind, &e.SiteID, &e.CompartmentID, &e.ParcelID,
		&e.GrantID, &e.Actor, &data, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.At = fromNanos(at)
	e.PrevHash, e.Hash = bytesOrNil(e.PrevHash), bytesOrNil(e.Hash)
	var err error
	if e.Data, err = decodeData(data); err != nil {
		return nil, fmt.Errorf("event %s: %w", e.ID, err)
	}
	return &e, nil
}

// AppendEvent seals e onto the head of its stream and stores it with the
// new head. Reading the head from stream_heads keeps this O(1) however long
// the chain; the writer's exclusive lock (or, in a multi-writer engine, the
// unique (stream, seq)) keeps two appends from sealing onto the same head.
func (t *tx) AppendEvent(ctx context.Context, e *parcelguard.Event) error {
	if e.ID == "" {
		e.ID = parcelguard.NewID("evt", e.At)
	}
	headSeq, headHash, err := t.StreamHead(ctx, e.Stream)
	if err != nil {
		return fmt.Errorf("append event to %s: %w", e.Stream, err)
	}
	e.Seal(headSeq, headHash)
	_, err = t.exec(ctx, `INSERT INTO events (`+eventColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.Stream, e.Seq, nanos(e.At), string(e.Kind), e.SiteID, e.CompartmentID, e.ParcelID, e.GrantID,
		e.Actor, string(e.DataJSON()), nullBytes(e.PrevHash), e.Hash)
	if err != nil {
		return fmt.Errorf("append event %s to %s: %w", e.ID, e.Stream, dbErr(err))
	}
	_, err = t.exec(ctx, `INSERT INTO stream_heads (stream, seq, hash) VALUES (?, ?, ?)
		ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`,
		e.Stream, e.Seq, e.Hash)
	if err != nil {
		return fmt.Errorf("append event %s to %s: move head: %w", e.ID, e.Stream, dbErr(err))
	}
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
	if f.Stream != "" {
		where = append(where, "stream = ?")
		args = append(args, f.Stream)
	}
	if f.ParcelID != "" {
		where = append(where, "parcel_id = ?")
		args = append(args, f.ParcelID)
	}
	if f.AfterSeq > 0 {
		where = append(where, "seq > ?")
		args = append(args, f.AfterSeq)
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
	q += ` LIMIT ?`
	args = append(args, limitArg(f.Limit))

	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
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
	err := t.queryRow(ctx, `SELECT seq, hash FROM stream_heads WHERE stream = ?`, stream).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read head of stream %s: %w", stream, dbErr(err))
	}
	return seq, bytesOrNil(hash), nil
}

// Streams lists every audit stream name in order.
func (t *tx) Streams(ctx context.Context) ([]string, error) {
	rows, err := t.query(ctx, `SELECT stream FROM stream_heads ORDER BY stream`)
	if err != nil {
		return nil, fmt.Errorf("list streams: %w", dbErr(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("list streams: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	return out, nil
}
