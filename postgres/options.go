package postgres

import (
	"runtime"
	"time"
)

// config holds what Options tune.
type config struct {
	maxConns         int32 // 0: pool_max_conns from the URL, else defaultMaxConns
	minConns         int32 // -1: pool_min_conns from the URL, else 0
	connectTimeout   time.Duration
	statementTimeout time.Duration
	idleInTxTimeout  time.Duration
	maxRetries       int
	applicationName  string
}

func defaultConfig() config {
	return config{
		minConns:         -1,
		connectTimeout:   5 * time.Second,
		statementTimeout: 10 * time.Second,
		idleInTxTimeout:  time.Minute,
		maxRetries:       10,
		applicationName:  "parcelguard",
	}
}

// defaultMaxConns is the pool's size unless an Option or the URL's
// pool_max_conns says otherwise.
func defaultMaxConns() int32 { return int32(max(8, 4*runtime.GOMAXPROCS(0))) }

// Option tunes Open.
type Option func(*config)

// WithMaxConns caps the connection pool (default: the URL's pool_max_conns,
// else the larger of 8 and four per GOMAXPROCS). Every Update and View
// holds one connection while it runs.
func WithMaxConns(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxConns = int32(n)
		}
	}
}

// WithMinConns keeps at least n connections open, so the first requests
// after a quiet spell do not pay for connecting (default: the URL's
// pool_min_conns, else 0).
func WithMinConns(n int) Option {
	return func(c *config) {
		if n >= 0 {
			c.minConns = int32(n)
		}
	}
}

// WithConnectTimeout bounds establishing one connection (default 5s), so
// that requests fail quickly, with parcelguard.ErrUnavailable, while the
// database is unreachable.
func WithConnectTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.connectTimeout = d
		}
	}
}

// WithStatementTimeout sets the server's statement_timeout for every
// connection (default 10s; 0 disables it). Waiting for a row lock counts.
func WithStatementTimeout(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.statementTimeout = d
		}
	}
}

// WithIdleInTransactionTimeout sets idle_in_transaction_session_timeout
// (default 1m; 0 disables it): the server ends a session that keeps a
// transaction, and its locks, open without running statements for longer.
func WithIdleInTransactionTimeout(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.idleInTxTimeout = d
		}
	}
}

// WithMaxRetries bounds how often Update re-runs fn after a serialization
// failure or deadlock (default 10); 0 disables retries.
func WithMaxRetries(n int) Option {
	return func(c *config) {
		if n >= 0 {
			c.maxRetries = n
		}
	}
}

// WithApplicationName sets application_name, shown in pg_stat_activity
// (default "parcelguard").
func WithApplicationName(name string) Option {
	return func(c *config) { c.applicationName = name }
}
