package postgres

import (
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
	// pending are writes whose outcome no caller waits for (AppendEvent's
	// event and head), sent ahead of the next statement or the COMMIT.
	pending []deferred
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
}

var _ parcelguard.Tx = (*tx)(nil)

// errRolledBack is COMMIT's answer when the transaction had already failed.
var errRolledBack = errors.New("postgres: transaction was rolled back")

// run sends the BEGIN if still due, the pending writes and the statement q
// in one pipeline (one round trip), and calls fn with q's results. fn must
// consume exactly q's results. An empty q sends only what is due.
func (t *tx) run(ctx context.Context, q string, args []any, fn func(br pgx.BatchResults) error) error {
	if t.failed != nil {
		if unavailable(t.failed) {
			return t.failed
		}
		return fmt.Errorf("postgres: transaction aborted by an earlier error: %v", t.failed)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, 2+len(t.pending))}
	if !t.begun {
		b.Queue(t.beginSQL)
		t.begun = true
	}
	for _, d := range t.pending {
		b.Queue(d.sql, d.args...).Fn = func(br pgx.BatchResults) error {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("%s: %w", d.what, err)
			}
			return nil
		}
	}
	t.pending = t.pending[:0]
	if q != "" {
		b.Queue(q, args...).Fn = fn
	}
	t.trips.Add(1)
	err := t.conn.SendBatch(ctx, b).Close()
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.failed = err
	}
	return err
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
func (t *tx) later(what, q string, args ...any) {
	t.pending = append(t.pending, deferred{sql: q, args: args, what: what})
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

// oneRow adapts a row scanner to run's callback for a statement returning
// at most one row; no row is pgx.ErrNoRows.
func oneRow(scan func(row scanRow) error) func(br pgx.BatchResults) error {
	return func(br pgx.BatchResults) error {
		return scan(br.QueryRow())
	}
}
