package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
)

// request is one queued Update waiting for the writer.
type request struct {
	ctx    context.Context
	fn     func(tx parcelguard.Tx) error
	result chan error // buffered: the writer never blocks on a caller
	err    error      // the outcome of fn, set by the writer
}

// savepoint names the savepoint around each fn of a batch. Savepoints
// nest by name, and a batch runs one fn at a time, so one name suffices.
const savepoint = "pg_update"

// Update runs fn in a read-write transaction. It is queued for the single
// writer goroutine, which commits it together with whatever other Updates
// are queued at the same moment; fn's writes are still all-or-nothing on
// their own, because each fn runs inside its own savepoint.
//
// If ctx is done before fn starts, fn never runs and Update returns
// ctx.Err(). Once fn has run, Update waits for the commit whatever ctx says,
// so a nil result always means durably committed. fn must not call Update
// itself: the writer would wait for itself.
func (db *DB) Update(ctx context.Context, fn func(tx parcelguard.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{ctx: ctx, fn: fn, result: make(chan error, 1)}

	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return ErrClosed
	}
	select {
	case db.queue <- r:
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	db.mu.RUnlock()

	// Wait unconditionally: returning early on ctx would race with the
	// writer, which may already be running or committing fn.
	return <-r.result
}

// writeLoop is the writer goroutine: it takes whatever is queued, up to
// maxBatch requests, and runs them as one transaction, until Close closes
// the queue and the queue is drained.
func (db *DB) writeLoop() {
	defer close(db.done)
	batch := make([]*request, 0, db.cfg.maxBatch)
	for {
		r, ok := <-db.queue
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		// Take only what is already waiting: never wait for more callers,
		// because an idle system should commit a lone Update at once.
	fill:
		for len(batch) < db.cfg.maxBatch {
			select {
			case r, ok := <-db.queue:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		began := time.Now()
		db.runBatch(batch)
		db.busy.Add(int64(time.Since(began)))
		clear(batch) // drop references so finished requests can be collected
	}
}

// runBatch runs the batch in one IMMEDIATE transaction, each fn inside its
// own savepoint, commits once, and answers every caller.
func (db *DB) runBatch(batch []*request) {
	// Drop callers that gave up while queued before taking the write lock.
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.result <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}

	// The transaction belongs to the whole batch, not to any caller, so it
	// runs under a context no caller can cancel. BEGIN IMMEDIATE takes the
	// write lock up front (another process could hold it).
	ctx := context.Background()
	if _, err := db.stmts.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		err = fmt.Errorf("sqlite: begin: %w", err)
		for _, r := range live {
			r.result <- err
		}
		return
	}

	for i, r := range live {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if err := db.runOne(ctx, r); err != nil {
			// The savepoint could not be undone, so the transaction may
			// hold part of r's writes: nothing in it may commit.
			db.rollback(ctx)
			db.fail(live[:i], err)
			r.result <- r.err
			db.fail(live[i+1:], err)
			return
		}
	}

	committing := time.Now()
	_, err := db.stmts.ExecContext(ctx, "COMMIT")
	db.committing.Add(int64(time.Since(committing)))
	if err != nil {
		// A failed COMMIT may leave the transaction open (SQLITE_BUSY);
		// end it so the next batch starts clean.
		db.rollback(ctx)
		db.fail(live, fmt.Errorf("sqlite: commit: %w", err))
		return
	}
	db.commits.Add(1)
	for _, r := range live {
		if r.err == nil {
			db.updates.Add(1)
		}
		r.result <- r.err
	}
}

// rollback ends the batch transaction after a failure. Its own error is
// moot: either the transaction is gone already (SQLite rolls back by itself
// after some errors) or the connection is, and the next BEGIN will say so.
func (db *DB) rollback(ctx context.Context) {
	_, _ = db.stmts.ExecContext(ctx, "ROLLBACK")
}

// fail answers each request of rs that would have succeeded with err, since
// its writes were lost with the batch, and the others with their own error.
func (db *DB) fail(rs []*request, err error) {
	for _, r := range rs {
		if r.err == nil {
			r.err = err
		}
		r.result <- r.err
	}
}

// runOne runs r.fn inside a savepoint, setting r.err to fn's outcome. It
// returns an error only if the savepoint itself failed, which leaves the
// batch transaction in an unknown state.
func (db *DB) runOne(ctx context.Context, r *request) error {
	if _, err := db.stmts.ExecContext(ctx, "SAVEPOINT "+savepoint); err != nil {
		r.err = fmt.Errorf("sqlite: savepoint: %w", err)
		return r.err
	}
	r.err = call(r.fn, &tx{q: db.stmts, shared: true})
	if r.err == nil {
		if _, err := db.stmts.ExecContext(ctx, "RELEASE "+savepoint); err != nil {
			r.err = fmt.Errorf("sqlite: release savepoint: %w", err)
			return r.err
		}
		return nil
	}
	// ROLLBACK TO undoes fn's writes but leaves the savepoint open; RELEASE
	// then removes it so the next fn starts at the batch's top level.
	if _, err := db.stmts.ExecContext(ctx, "ROLLBACK TO "+savepoint); err != nil {
		return errors.Join(r.err, fmt.Errorf("sqlite: rollback to savepoint: %w", err))
	}
	if _, err := db.stmts.ExecContext(ctx, "RELEASE "+savepoint); err != nil {
		return errors.Join(r.err, fmt.Errorf("sqlite: release savepoint: %w", err))
	}
	return nil
}

// call runs fn, turning a panic into an error so that one faulty Update
// cannot kill the writer goroutine that every other Update depends on.
func call(fn func(parcelguard.Tx) error, t *tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlite: update panicked: %v", p)
		}
	}()
	return fn(t)
}
