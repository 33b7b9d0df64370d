package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrations are the versioned schema files, applied in order at Open.
// Their numbers follow sqlite/migrations: version N is the same schema
// change on both engines.
//
//go:embed migrations/*.sql
var migrations embed.FS

// provider returns a goose provider for the embedded migrations on db. A
// session advisory lock keeps instances starting together from applying
// the same migration twice.
func provider(db *sql.DB) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	// The global registry holds Go migrations registered by init functions
	// anywhere in the binary; this schema has none, so ignore it.
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// openSQL opens a database/sql handle for goose on a copy of cc without a
// statement timeout: a migration may legitimately run long.
func openSQL(cc *pgx.ConnConfig) *sql.DB {
	cc = cc.Copy()
	cc.RuntimeParams["statement_timeout"] = "0"
	db := stdlib.OpenDB(*cc)
	db.SetMaxOpenConns(1)
	return db
}

// migrate applies every pending migration and returns the schema version.
func migrate(ctx context.Context, cc *pgx.ConnConfig) (int64, error) {
	db := openSQL(cc)
	defer db.Close()
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

// Migrate brings the database at url to the latest schema version and
// returns that version. Open does the same, so Migrate is only needed to
// upgrade a database without serving it.
func Migrate(ctx context.Context, url string, opts ...Option) (int64, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	pcfg, err := poolConfig(url, cfg)
	if err != nil {
		return 0, fmt.Errorf("migrate postgres: %w", err)
	}
	v, err := migrate(ctx, pcfg.ConnConfig)
	if err != nil {
		return 0, fmt.Errorf("migrate postgres %s: %w", redact(pcfg), dbErr(err))
	}
	return v, nil
}

// Version returns the schema version of the open database.
func (db *DB) Version(ctx context.Context) (int64, error) {
	sdb := openSQL(db.pool.Config().ConnConfig)
	defer sdb.Close()
	p, err := provider(sdb)
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", dbErr(err))
	}
	return v, nil
}
