package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parcelguard/parcelguard"
)

// The transactions' BEGIN statements. Update runs at READ COMMITTED: every
// write that depends on a read is guarded by a version check, a unique
// constraint or a row lock, which is what keeps concurrent writers correct
// here, and READ COMMITTED lets a writer queued on a lock (a stream head, a
// saved row) go ahead once the holder commits instead of failing with a
// serialization error. View wants one snapshot for all its reads.
const (
	beginUpdate = "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE"
	beginView   = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
)

// DB is a parcelguard.Store backed by a PostgreSQL database.
type DB struct {
	cfg    config
	pool   *pgxpool.Pool
	closed atomic.Bool

	// retries counts re-runs of Update fns after serialization failures
	// and deadlocks; tests use it to see retries really happen.
	retries atomic.Int64
	// roundTrips counts the pipelines transactions sent (each one round
	// trip); tests and benchmarks use it to see what a use case costs.
	roundTrips atomic.Int64
}

var _ parcelguard.Store = (*DB)(nil)

// Open connects to the database at url (postgres://user:pass@host/db?...),
// applies pending migrations and returns the store. Parameters in url that
// pgx understands (sslmode, pool_max_conns, ...) apply unless an Option
// overrides them.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	pcfg, err := poolConfig(url, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if _, err := migrate(ctx, pcfg.ConnConfig); err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redact(pcfg), dbErr(err))
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redact(pcfg), dbErr(err))
	}
	return &DB{cfg: cfg, pool: pool}, nil
}

// poolConfig parses url and applies cfg.
func poolConfig(url string, cfg config) (*pgxpool.Config, error) {
	// pgxpool.ParseConfig consumes the pool_* parameters, so whether the
	// URL set them is asked of the plain connection config first.
	conn, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err // pgx redacts the password in its message
	}
	_, urlMax := conn.RuntimeParams["pool_max_conns"]
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.maxConns > 0:
		pcfg.MaxConns = cfg.maxConns
	case !urlMax:
		pcfg.MaxConns = defaultMaxConns()
	}
	if cfg.minConns >= 0 {
		pcfg.MinConns = cfg.minConns
	}
	pcfg.MinConns = min(pcfg.MinConns, pcfg.MaxConns)
	cc := pcfg.ConnConfig
	cc.ConnectTimeout = cfg.connectTimeout
	cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(cfg.statementTimeout.Milliseconds(), 10)
	cc.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(cfg.idleInTxTimeout.Milliseconds(), 10)
	if cfg.applicationName != "" {
		cc.RuntimeParams["application_name"] = cfg.applicationName
	}
	return pcfg, nil
}

// redact names the database for messages, without credentials.
func redact(pcfg *pgxpool.Config) string {
	cc := pcfg.ConnConfig
	return fmt.Sprintf("%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
}

// Update runs fn in a READ COMMITTED read-write transaction and commits it.
// If the database aborts the transaction as a serialization failure or a
// deadlock, fn runs again from the start (at most WithMaxRetries times,
// with jittered backoff), so fn must not act outside tx.
//
// If ctx is done before fn starts, fn never runs and Update returns
// ctx.Err(). COMMIT itself is not canceled by ctx, so a nil result always
// means durably committed.
func (db *DB) Update(ctx context.Context, fn func(tx parcelguard.Tx) error) error {
	for attempt := 0; ; attempt++ {
		again, err := db.attempt(ctx, beginUpdate, false, fn)
		if !again || attempt >= db.cfg.maxRetries {
			return err
		}
		db.retries.Add(1)
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return err
		}
	}
}

// View runs fn in a REPEATABLE READ READ ONLY transaction: every read in fn
// sees the same committed state, unaffected by concurrent commits.
func (db *DB) View(ctx context.Context, fn func(tx parcelguard.Tx) error) error {
	_, err := db.attempt(ctx, beginView, true, fn)
	return err
}

// attempt runs fn once in a transaction that begins with beginSQL, and
// reports whether a failure is worth another attempt.
func (db *DB) attempt(ctx context.Context, beginSQL string, readOnly bool, fn func(tx parcelguard.Tx) error) (again bool, err error) {
	if db.closed.Load() {
		return false, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("postgres: acquire connection: %w", dbErr(err))
	}
	defer conn.Release()

	t := &tx{conn: conn, beginSQL: beginSQL, readOnly: readOnly, trips: &db.roundTrips}
	if err := call(fn, t); err != nil {
		// A transaction the database aborted to break a deadlock or a
		// serialization failure is retried whatever fn made of the error.
		again := retryable(t.failed) || retryable(err)
		if t.failed != nil && !errors.Is(err, t.failed) {
			// fn may have made something else of the failure of a write
			// that went with a later statement (a checked save's
			// ErrConflict); the caller must still see it to retry.
			err = fmt.Errorf("%w (the transaction failed: %w)", err, dbErr(t.failed))
		}
		return again, t.rollback(ctx, err)
	}
	if readOnly {
		// A write queued in a read-only transaction must still fail as
		// it would have had it been sent at once.
		var err error
		if len(t.pending) > 0 {
			err = dbErr(t.run(ctx, "", nil, nil))
		}
		return false, t.rollback(ctx, err)
	}
	if err := t.commit(ctx); err != nil {
		if errors.Is(err, errRolledBack) && t.failed != nil {
			err = fmt.Errorf("%w: %w", err, t.failed)
		}
		return retryable(err) || retryable(t.failed), fmt.Errorf("postgres: commit: %w", dbErr(err))
	}
	return false, nil
}

// call runs fn, turning a panic into an error after which the connection
// is not reused mid-transaction (Release drops a connection that is not
// idle).
func call(fn func(parcelguard.Tx) error, t *tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			t.rollback(context.Background(), nil)
			panic(p)
		}
	}()
	return fn(t)
}

// Ping checks that the database answers a query, for readiness: it fails
// with parcelguard.ErrUnavailable while the database is unreachable and
// succeeds again once it is back, without reopening the store.
func (db *DB) Ping(ctx context.Context) error {
	if db.closed.Load() {
		return ErrClosed
	}
	var one int
	if err := db.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("postgres: ping: %w", dbErr(err))
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be released.
// It is safe to call more than once.
func (db *DB) Close() error {
	if db.closed.CompareAndSwap(false, true) {
		db.pool.Close()
	}
	return nil
}
