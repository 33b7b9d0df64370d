package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/postgres"
	"github.com/parcelguard/parcelguard/sqlite"
)

// storeFlags locate the data: the database and the server keyring, which is
// kept outside the database on purpose (SECURITY.md 4).
type storeFlags struct {
	dataDir string
	db      string
	keyring string
	pg      pgFlags
}

// pgFlags tune the PostgreSQL connection pool and the server-side timeouts;
// SQLite ignores them. Zero values keep the store's defaults.
type pgFlags struct {
	maxConns, minConns, maxRetries               int
	connectTimeout, statementTimeout, idleInTxTO time.Duration
}

// defaultPGFlags are the pool settings serve starts with unless flags say
// otherwise.
func defaultPGFlags() pgFlags {
	return pgFlags{connectTimeout: 5 * time.Second, statementTimeout: 10 * time.Second, idleInTxTO: time.Minute, maxRetries: 10}
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	d := defaultPGFlags()
	fs.StringVar(&f.dataDir, "data-dir", "parcelguard-data", "directory for the embedded database and the keyring")
	fs.StringVar(&f.db, "db", "", "database: a SQLite file path, a postgres:// URL, or empty for DATA-DIR/parcelguard.db")
	fs.StringVar(&f.keyring, "keyring", "", "server key file (created with mode 0600 if missing); empty for DATA-DIR/keyring.json")
	fs.IntVar(&f.pg.maxConns, "db-max-conns", 0, "PostgreSQL: most connections this process opens (0: the URL's pool_max_conns, else the larger of 8 and 4 per CPU); "+
		"every running transaction holds one, so instances × this must stay under the server's max_connections")
	fs.IntVar(&f.pg.minConns, "db-min-conns", 0, "PostgreSQL: connections kept open while idle (0: the URL's pool_min_conns, else none)")
	fs.DurationVar(&f.pg.connectTimeout, "db-connect-timeout", d.connectTimeout, "PostgreSQL: limit for opening one connection; "+
		"while the database is unreachable requests fail after at most this long with 503")
	fs.DurationVar(&f.pg.statementTimeout, "db-statement-timeout", d.statementTimeout, "PostgreSQL: statement_timeout of every "+
		"connection, waiting for locks included (0: none); a statement over it fails the request with 503")
	fs.DurationVar(&f.pg.idleInTxTO, "db-idle-in-transaction-timeout", d.idleInTxTO, "PostgreSQL: idle_in_transaction_session_timeout "+
		"(0: none): the server ends a session that holds a transaction open without using it")
	fs.IntVar(&f.pg.maxRetries, "db-max-retries", d.maxRetries, "PostgreSQL: how often a transaction is re-run after a serialization "+
		"failure or deadlock (SQLSTATE 40001, 40P01) before the request fails")
}

// validate rejects settings no pool can honour.
func (f *pgFlags) validate() error {
	switch {
	case f.maxConns < 0:
		return fmt.Errorf("--db-max-conns %d: must not be negative", f.maxConns)
	case f.minConns < 0:
		return fmt.Errorf("--db-min-conns %d: must not be negative", f.minConns)
	case f.maxConns > 0 && f.minConns > f.maxConns:
		return fmt.Errorf("--db-min-conns %d: must not exceed --db-max-conns %d", f.minConns, f.maxConns)
	case f.connectTimeout <= 0:
		return fmt.Errorf("--db-connect-timeout %v: must be positive", f.connectTimeout)
	case f.statementTimeout < 0:
		return fmt.Errorf("--db-statement-timeout %v: must not be negative", f.statementTimeout)
	case f.idleInTxTO < 0:
		return fmt.Errorf("--db-idle-in-transaction-timeout %v: must not be negative", f.idleInTxTO)
	case f.maxRetries < 0:
		return fmt.Errorf("--db-max-retries %d: must not be negative", f.maxRetries)
	}
	return nil
}

// options turns the flags into the store's options.
func (f *pgFlags) options() []postgres.Option {
	opts := []postgres.Option{
		postgres.WithConnectTimeout(f.connectTimeout),
		postgres.WithStatementTimeout(f.statementTimeout),
		postgres.WithIdleInTransactionTimeout(f.idleInTxTO),
		postgres.WithMaxRetries(f.maxRetries),
	}
	// Unset, the pool settings come from the URL's pool_max_conns and
	// pool_min_conns, or the store's defaults.
	if f.maxConns > 0 {
		opts = append(opts, postgres.WithMaxConns(f.maxConns))
	}
	if f.minConns > 0 {
		opts = append(opts, postgres.WithMinConns(f.minConns))
	}
	return opts
}

func (f *storeFlags) dbPath() string {
	if f.db != "" {
		return f.db
	}
	return filepath.Join(f.dataDir, "parcelguard.db")
}

func (f *storeFlags) keyringPath() string {
	if f.keyring != "" {
		return f.keyring
	}
	return filepath.Join(f.dataDir, "keyring.json")
}

// engine is what the commands need of a storage engine.
type engine interface {
	parcelguard.Store
	Version(ctx context.Context) (int64, error)
}

// openStore opens (and migrates) the configured database.
func (f *storeFlags) openStore(ctx context.Context) (engine, error) {
	path := f.dbPath()
	if strings.HasPrefix(path, "postgres://") || strings.HasPrefix(path, "postgresql://") {
		if err := f.pg.validate(); err != nil {
			return nil, err
		}
		db, err := postgres.Open(ctx, path, f.pg.options()...)
		if err != nil {
			return nil, fmt.Errorf("open database %s: %w", redactURL(path), err)
		}
		return db, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// loadKeys loads the keyring, creating a fresh one on first start.
func (f *storeFlags) loadKeys() (*code.Keyring, error) {
	k, err := code.LoadOrCreateKeyring(f.keyringPath())
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", f.keyringPath(), err)
	}
	return k, nil
}

// redactURL drops any password from a database URL before it is printed.
func redactURL(s string) string {
	if at := strings.LastIndex(s, "@"); at >= 0 {
		if scheme := strings.Index(s, "://"); scheme >= 0 && scheme < at {
			return s[:scheme+3] + "…" + s[at:]
		}
	}
	return s
}
