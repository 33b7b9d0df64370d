package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parcelguard/parcelguard"
)

// tx implements parcelguard.Tx on one connection. It manages the
// transaction itself rather than through pgx.Tx, so that BEGIN, deferred
// writes and COMMIT can share a pipeline with the statements around them:
// a round trip is the dominant cost of a short transaction.
type tx struct {
	conn     *pgxpool.Conn
	beginSQL string
	readOnly bool
	// begun is set once BEGIN has been sent (queued ahead of the first
	// statement). A transaction that ran no statement has nothing to end.
	begun bool
	// pending are writes whose outcome no caller waits for (timers, outbox
	// messages, audit events, version-checked saves), sent ahead of the
	// next statement or with the COMMIT.
	pending []deferred
	// cache holds rows the last round trip read besides what was asked
	// for (see prefetch.go); anything sent empties it, a queued save
	// updates it.
	cache map[string]any
	// failed is the first error that aborted the transaction on the
	// server (or lost the connection); every later statement would fail,
	// and COMMIT would roll back.
	failed error
	// trips counts round trips (the DB's counter).
	trips *atomic.Int64
}

// deferred is a write queued to be sent with the next statement.
type deferred struct {
	sql  string
	args []any
	what string // what the write does, for its error message
	// fn reads the write's results (nil: none wanted); its error, or the
	// statement's, fails the transaction.
	fn func(br pgx.BatchResults) error
	// undo, if set, takes back what the caller was told when the write was
	// queued (a Save's new Version) if the write fails or does not run
	// because an earlier statement of its pipeline failed.
	undo func()
}

// stmt is a statement of a pipeline and what reads its results (nil:
// nothing, it is only executed).
type stmt struct {
	sql  string
	args []any
	fn   func(br pgx.BatchResults) error
}

var _ parcelguard.Tx = (*tx)(nil)

// errRolledBack is COMMIT's answer when the transaction had already failed.
var errRolledBack = errors.New("postgres: transaction was rolled back")

// run sends the BEGIN if still due, the pending writes and the statement q
// in one pipeline (one round trip), and calls fn with q's results. fn must
// consume exactly q's results. An empty q sends only what is due.
func (t *tx) run(ctx context.Context, q string, args []any, fn func(br pgx.BatchResults) error) error {
	if q == "" {
		return t.send(ctx)
	}
	return t.send(ctx, stmt{sql: q, args: args, fn: fn})
}

// send sends the BEGIN if still due, the pending writes and stmts in one
// pipeline (one round trip), calling each statement's fn with its results
// in order. The first error stops the calls and fails the transaction,
// except pgx.ErrNoRows from a statement of stmts (a lookup that found
// nothing): send returns it, and the transaction goes on.
func (t *tx) send(ctx context.Context, stmts ...stmt) error {
	if t.failed != nil {
		if unavailable(t.failed) {
			return t.failed
		}
		return fmt.Errorf("postgres: transaction aborted by an earlier error: %v", t.failed)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t.cache = nil // what this round trip reads replaces what the last one did
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, 1+len(t.pending)+len(stmts))}
	if !t.begun {
		b.Queue(t.beginSQL)
		t.begun = true
	}
	sent, ran := t.pending, 0
	t.pending = nil
	for _, d := range sent {
		b.Queue(d.sql, d.args...).Fn = func(br pgx.BatchResults) error {
			var err error
			if d.fn != nil {
				err = d.fn(br)
			} else {
				_, err = br.Exec()
			}
			if err != nil {
				return fmt.Errorf("%s: %w", d.what, err)
			}
			ran++
			return nil
		}
	}
	// A lookup's ErrNoRows is kept from pgx: an error out of a batch makes
	// pgx drop the prepared statements of the whole pipeline, to prepare
	// them again (one more round trip) on their next use.
	var noRows error
	for _, s := range stmts {
		fn := s.fn
		if fn == nil {
			fn = execOnly
		}
		b.Queue(s.sql, s.args...).Fn = func(br pgx.BatchResults) error {
			err := fn(br)
			if errors.Is(err, pgx.ErrNoRows) {
				noRows = cmp.Or(noRows, err)
				return nil
			}
			return err
		}
	}
	t.trips.Add(1)
	if err := t.conn.SendBatch(ctx, b).Close(); err != nil {
		t.failed = err
		t.cache = nil
		for _, d := range sent[ran:] {
			if d.undo != nil {
				d.undo()
			}
		}
		return err
	}
	return noRows
}

// exec runs a statement that returns no rows and reports how many rows it
// affected.
func (t *tx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	err := t.run(ctx, q, args, func(br pgx.BatchResults) error {
		ct, err := br.Exec()
		n = ct.RowsAffected()
		return err
	})
	return n, err
}

// queryRow runs a statement returning at most one row and scans it into
// dest; no row is pgx.ErrNoRows.
func (t *tx) queryRow(ctx context.Context, q string, args []any, dest ...any) error {
	return t.run(ctx, q, args, func(br pgx.BatchResults) error {
		return br.QueryRow().Scan(dest...)
	})
}

// scanRow scans one row of a result set.
type scanRow interface {
	Scan(dest ...any) error
}

// query runs a statement and calls each for every row.
func (t *tx) query(ctx context.Context, q string, args []any, each func(row scanRow) error) error {
	return t.run(ctx, q, args, func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := each(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// later queues a write to go with the next statement or the COMMIT.
//
// The cache stays as it is, so a queued write must not change a row the
// cache may hold (see prefetch.go), or its caller must update the cache
// itself, as the Save methods do.
func (t *tx) later(what, q string, args ...any) {
	t.laterFn(what, nil, q, args...)
}

// laterFn queues a write like later, with fn to read its results when
// they come.
func (t *tx) laterFn(what string, fn func(br pgx.BatchResults) error, q string, args ...any) {
	t.pending = append(t.pending, deferred{sql: q, args: args, what: what, fn: fn})
}

// commit sends the pending writes and COMMIT in one round trip. It runs
// under a context the caller cannot cancel: once COMMIT is on its way its
// outcome must be known, so that a nil result means committed.
func (t *tx) commit(ctx context.Context) error {
	if t.failed != nil {
		return t.rollback(ctx, t.failed)
	}
	if !t.begun && len(t.pending) == 0 {
		return nil // fn ran no statement: nothing to commit
	}
	err := t.run(context.WithoutCancel(ctx), "COMMIT", nil, func(br pgx.BatchResults) error {
		ct, err := br.Exec()
		if err == nil && ct.String() != "COMMIT" {
			err = errRolledBack
		}
		return err
	})
	if err != nil {
		return t.rollback(ctx, err)
	}
	return nil
}

// rollbackTimeout bounds the ROLLBACK after a failure; if it cannot be
// sent, the connection is dropped rather than returned to the pool, which
// ends the transaction as well.
const rollbackTimeout = 5 * time.Second

// rollback ends the transaction, if one is open, and returns cause.
func (t *tx) rollback(ctx context.Context, cause error) error {
	t.pending = nil
	if !t.begun || t.conn.Conn().IsClosed() || t.conn.Conn().PgConn().TxStatus() == 'I' {
		return cause
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	t.trips.Add(1)
	_, _ = t.conn.Exec(rctx, "ROLLBACK")
	return cause
}

// execOnly reads a statement's results as a command tag.
func execOnly(br pgx.BatchResults) error {
	_, err := br.Exec()
	return err
}

// oneRow adapts a row scanner to run's callback for a statement returning
// at most one row; no row is pgx.ErrNoRows.
func oneRow(scan func(row scanRow) error) func(br pgx.BatchResults) error {
	return func(br pgx.BatchResults) error {
		return scan(br.QueryRow())
	}
}
