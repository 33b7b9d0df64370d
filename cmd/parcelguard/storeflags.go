package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dataDir, "data-dir", "parcelguard-data", "directory for the embedded database and the keyring")
	fs.StringVar(&f.db, "db", "", "database: a SQLite file path, a postgres:// URL, or empty for DATA-DIR/parcelguard.db")
	fs.StringVar(&f.keyring, "keyring", "", "server key file (created with mode 0600 if missing); empty for DATA-DIR/keyring.json")
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
		db, err := postgres.Open(ctx, path)
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
