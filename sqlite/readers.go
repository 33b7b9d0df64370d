package sqlite

import (
	"context"
	"fmt"

	"github.com/parcelguard/parcelguard"
)

// Reads run on reader sessions: connections taken from the read pool and
// kept, each with its own statement cache. A View through database/sql's
// pool prepared (parsed and planned) every query anew, which cost about as
// much as running it; a session prepares each query once. Sessions are made
// on demand, up to the configured number of readers; the pool keeps one
// connection more for Ping and schema queries.

// acquireReader returns an idle reader session, or makes one while fewer
// than the configured number exist, or waits for one to come free.
func (db *DB) acquireReader(ctx context.Context) (*stmtCache, error) {
	select {
	case c := <-db.readFree:
		return c, nil
	default:
	}
	select {
	case c := <-db.readFree:
		return c, nil
	case db.readSlots <- struct{}{}:
		conn, err := db.reader.Conn(ctx)
		if err != nil {
			<-db.readSlots
			return nil, err
		}
		return newStmtCache(conn), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// releaseReader makes c idle again, or closes it if it is broken or the
// store is closed. The read lock orders it with Close, which drains the
// idle sessions once closed is set.
func (db *DB) releaseReader(c *stmtCache, broken bool) {
	db.mu.RLock()
	if !broken && !db.closed {
		db.readFree <- c // never blocks: at most cap(readFree) sessions exist
		db.mu.RUnlock()
		return
	}
	db.mu.RUnlock()
	closeReader(c)
	<-db.readSlots
}

func closeReader(c *stmtCache) error {
	err := c.Close()
	if cerr := c.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// closeReaders closes the idle sessions; Close calls it once closed is
// set, so busy ones close themselves when released.
func (db *DB) closeReaders() error {
	var first error
	for {
		select {
		case c := <-db.readFree:
			if err := closeReader(c); err != nil && first == nil {
				first = err
			}
			<-db.readSlots
		default:
			return first
		}
	}
}

// View runs fn in a read-only transaction on a reader session. In WAL mode
// the transaction's snapshot is fixed at its first read, so every read in
// fn sees the same committed state, unaffected by concurrent commits.
func (db *DB) View(ctx context.Context, fn func(tx parcelguard.Tx) error) (err error) {
	db.mu.RLock()
	closed := db.closed
	db.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := db.acquireReader(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
		db.releaseReader(c, true)
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	defer func() {
		// A read transaction has nothing to commit; rolling back just
		// ends the snapshot. A session that cannot end it is dropped.
		_, rerr := c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		db.releaseReader(c, rerr != nil)
	}()
	return fn(&tx{q: c})
}
