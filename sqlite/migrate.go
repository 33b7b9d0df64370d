package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// migrations are the versioned schema files, applied in order at Open.
//
//go:embed migrations/*.sql
var migrations embed.FS

// provider returns a goose provider for the embedded migrations on db.
func provider(db *sql.DB) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	// The global registry holds Go migrations registered by init functions
	// anywhere in the binary; this schema has none, so ignore it.
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// migrate applies every pending migration on db and returns the resulting
// schema version.
func migrate(ctx context.Context, db *sql.DB) (int64, error) {
	p, err := provider(db)
	if err != nil {
		return 0, err
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("apply migrations: %w", err)
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// Migrate brings the database at path to the latest schema version and
// returns that version. Open does the same, so Migrate is only needed to
// upgrade a database without serving it (a migrate command).
func Migrate(ctx context.Context, path string, opts ...Option) (int64, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	db, err := sql.Open(driverName, writerDSN(path, cfg))
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	return migrate(ctx, db)
}

// Version returns the schema version of the open database.
func (db *DB) Version(ctx context.Context) (int64, error) {
	p, err := provider(db.reader)
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
