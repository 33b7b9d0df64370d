package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

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
// stream. At READ COMMITTED the upsert waits for a transaction holding the
// row, so appends to one stream queue up behind each other while appends
// to other streams go on unhindered; the row also exists for the first
// append, so two transactions starting a stream serialize the same way.
const lockHead = `INSERT INTO stream_heads AS h (stream, seq, hash) VALUES ($1, 0, ''::bytea)
	ON CONFLICT (stream) DO UPDATE SET seq = h.seq`

// appendAtHead seals the event onto the head that lockHead locked and
// moves the head, in one statement. It runs after lockHead, so its
// snapshot (READ COMMITTED takes one per statement) has the head as the
// last holder committed it, and nobody else can move it now. The hash is
// ChainHash computed by the database: sha256 over the length-prefixed
// previous hash, the fields before the seq ($11), the seq and the fields
// after it ($12), which chainParts encodes exactly as ChainHash does.
const appendAtHead = `WITH head AS (SELECT seq + 1 AS seq, hash AS prev FROM stream_heads WHERE stream = $2),
	ev AS (
		INSERT INTO events (` + eventColumns + `)
		SELECT $1, $2, head.seq, $3::int8, $4, $5, $6, $7, $8, $9, $10, NULLIF(head.prev, ''::bytea),
			sha256(int8send(length(head.prev)::int8) || head.prev || $11::bytea || int8send(head.seq) || $12::bytea)
		FROM head
		RETURNING seq, prev_hash, hash)
	UPDATE stream_heads h SET seq = ev.seq, hash = ev.hash FROM ev WHERE h.stream = $2
	RETURNING ev.seq, ev.prev_hash, ev.hash`

// AppendEvent seals e onto the head of its stream and stores it with the
// new head. Nothing in the transaction waits for the append, so it goes,
// head lock and all, with the transaction's next statement or its COMMIT:
// it costs no round trip of its own, and the head stays locked only from
// then until the COMMIT. The database computes the seal; e's Seq, PrevHash
// and Hash are set when the append's results come back with that
// statement. A failure, such as a reused event ID, fails the transaction
// there.
func (t *tx) AppendEvent(_ context.Context, e *parcelguard.Event) error {
	if e.ID == "" {
		e.ID = parcelguard.NewID("evt", e.At)
	}
	mid, tail := chainParts(e)
	what := fmt.Sprintf("append event %s to %s", e.ID, e.Stream)
	t.later(what+": lock head", lockHead, e.Stream)
	t.laterFn(what, func(br pgx.BatchResults) error {
		var seq int64
		var prev, hash []byte
		if err := br.QueryRow().Scan(&seq, &prev, &hash); err != nil {
			return dbErr(err)
		}
		e.Seq, e.PrevHash, e.Hash = seq, bytesOrNil(prev), hash
		return nil
	}, appendAtHead, e.ID, e.Stream, nanos(e.At), string(e.Kind), e.SiteID, e.CompartmentID, e.ParcelID, e.GrantID,
		e.Actor, string(e.DataJSON()), mid, tail)
	return nil
}

// chainParts encodes what parcelguard.ChainHash hashes after the previous
// hash, split around the seq the database assigns: mid ends with the seq's
// length prefix, tail follows the seq's eight bytes.
func chainParts(e *parcelguard.Event) (mid, tail []byte) {
	put := func(b []byte, s string) []byte {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		return append(b, s...)
	}
	mid = put(mid, e.ID)
	mid = put(mid, e.Stream)
	mid = binary.BigEndian.AppendUint64(mid, 8)
	tail = put(tail, e.At.UTC().Format(time.RFC3339Nano))
	tail = put(tail, string(e.Kind))
	tail = put(tail, e.SiteID)
	tail = put(tail, e.CompartmentID)
	tail = put(tail, e.ParcelID)
	tail = put(tail, e.GrantID)
	tail = put(tail, e.Actor)
	for _, k := range slices.Sorted(maps.Keys(e.Data)) {
		tail = put(tail, k)
		tail = put(tail, e.Data[k])
	}
	return mid, tail
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
