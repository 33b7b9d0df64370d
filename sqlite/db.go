package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/parcelguard/parcelguard"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

const driverName = "sqlite"

// ErrClosed is returned by Update and View after Close.
var ErrClosed = errors.New("sqlite: store is closed")

// DB is a parcelguard.Store backed by one SQLite database file.
type DB struct {
	cfg    config
	reader *sql.DB    // query_only pool serving View
	writer *sql.DB    // exactly one connection, held by the writer goroutine
	stmts  *stmtCache // runs statements on the writer connection

	// mu guards closed and sends on queue, so Close never closes queue under
	// a sender.
	mu     sync.RWMutex
	closed bool
	queue  chan *request
	done   chan struct{} // closed when the writer goroutine has exited

	// readFree holds idle reader sessions; readSlots holds a token for
	// each session that exists (see readers.go).
	readFree  chan *stmtCache
	readSlots chan struct{}

	// commits and updates count committed batches and the Updates they
	// carried; busy and committing sum, in nanoseconds, the writer's time
	// running batches and, within that, committing them (WriterStats).
	commits    atomic.Int64
	updates    atomic.Int64
	busy       atomic.Int64
	committing atomic.Int64
}

var _ parcelguard.Store = (*DB)(nil)

// Open opens (creating if needed) the database file at path, applies pending
// migrations and starts the writer. path must name a file: an in-memory
// database would give every pooled connection its own empty database.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open sqlite %q: path must name a file", path)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	db := &DB{cfg: cfg, queue: make(chan *request, cfg.maxBatch), done: make(chan struct{})}

	var err error
	if db.writer, err = sql.Open(driverName, writerDSN(path, cfg)); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// One connection and never recycled: a single writer is what makes
	// version conflicts impossible and group commit possible.
	db.writer.SetMaxOpenConns(1)
	db.writer.SetMaxIdleConns(1)
	db.writer.SetConnMaxLifetime(0)
	db.writer.SetConnMaxIdleTime(0)
	// Migrate before the readers open: the first writer connection turns
	// the file into WAL mode, which readers then find already set.
	if _, err := migrate(ctx, db.writer); err != nil {
		db.writer.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// The writer goroutine keeps the connection for the life of the DB,
	// so statements prepared on it stay valid.
	conn, err := db.writer.Conn(ctx)
	if err != nil {
		db.writer.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.stmts = newStmtCache(conn)

	if db.reader, err = sql.Open(driverName, readerDSN(path, cfg)); err != nil {
		conn.Close()
		db.writer.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// The reader sessions keep up to cfg.readers connections; one more
	// serves Ping and schema queries.
	db.reader.SetMaxOpenConns(cfg.readers + 1)
	db.reader.SetMaxIdleConns(cfg.readers + 1)
	db.readFree = make(chan *stmtCache, cfg.readers)
	db.readSlots = make(chan struct{}, cfg.readers)
	db.reader.SetConnMaxLifetime(0)
	db.reader.SetConnMaxIdleTime(0)
	if err := db.reader.PingContext(ctx); err != nil {
		conn.Close()
		db.writer.Close()
		db.reader.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}

	go db.writeLoop()
	return db, nil
}

// writerDSN configures the writer connection. synchronous=FULL fsyncs the
// WAL at every commit, which is what makes an acknowledged commit durable.
// The writer issues BEGIN IMMEDIATE itself; _txlock=immediate does the same
// for the migrations, which run through database/sql transactions.
func writerDSN(path string, cfg config) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "1")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_txlock", "immediate")
	// Each Update of a batch runs in a savepoint, and SQLite keeps the
	// pages a savepoint may need to undo in a sub-journal, by default a
	// temporary file: in memory it costs no system calls.
	q.Add("_pragma", "temp_store(memory)")
	// Every commit writes each page it changed to the WAL, and a checkpoint
	// copies each page changed since the last one into the database file.
	// The hot pages (the ends of the indexes being appended to) change in
	// nearly every commit, so checkpointing less often copies them fewer
	// times: at 16000 pages (a WAL of about 64 MB) rather than SQLite's
	// 1000, the sustained lifecycle wrote a fifth less and ran 5-10 % faster,
	// for a slightly longer pause at each checkpoint.
	q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walCheckpointPages))
	return path + "?" + q.Encode()
}

// walCheckpointPages is how many pages the WAL grows to before the writer
// checkpoints it.
const walCheckpointPages = 16000

// readerDSN configures the read pool. query_only turns any write attempted
// through View into an error instead of a silent second writer.
func readerDSN(path string, cfg config) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "1")
	q.Set("_query_only", "1")
	return path + "?" + q.Encode()
}

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	db.mu.RLock()
	closed := db.closed
	db.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	var one int
	if err := db.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close stops accepting Updates, lets the writer finish every Update already
// queued, and closes the database. It is safe to call more than once.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	close(db.queue)
	db.mu.Unlock()

	<-db.done
	return errors.Join(db.stmts.Close(), db.stmts.conn.Close(), db.writer.Close(), db.closeReaders(), db.reader.Close())
}
