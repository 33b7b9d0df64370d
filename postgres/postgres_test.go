package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/internal/pgtest"
	"github.com/parcelguard/parcelguard/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// migratedURL returns the URL of a new database holding the current schema
// and nothing else: a copy of a template migrated once per test binary.
func migratedURL(tb testing.TB) string {
	tb.Helper()
	return pgtest.URLFrom(tb, "migrated", func(url string) error {
		_, err := Migrate(context.Background(), url)
		return err
	})
}

// openTemp opens the store on a new database with the current schema and
// no rows, closed at cleanup. Open still runs the migrations (finding none
// to apply); TestMigrateEmpty covers applying them to an empty database.
func openTemp(tb testing.TB, opts ...Option) *DB {
	tb.Helper()
	url := migratedURL(tb)
	db, err := Open(tb.Context(), url, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) parcelguard.Store { return openTemp(t) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) parcelguard.Store { return openTemp(b) })
}

// Ensure Open migrates an empty database to the newest schema, and that
// instances starting together on one database apply each migration once
// (the advisory lock) and all come up.
func TestMigrateEmpty(t *testing.T) {
	url := pgtest.URL(t)
	entries, err := migrations.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var newest int64
	for _, e := range entries {
		var v int64
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err == nil {
			newest = max(newest, v)
		}
	}
	var (
		wg  sync.WaitGroup
		dbs = make([]*DB, 3)
	)
	for i := range dbs {
		wg.Go(func() {
			db, err := Open(t.Context(), url)
			if err != nil {
				t.Error(err)
				return
			}
			dbs[i] = db
		})
	}
	wg.Wait()
	for _, db := range dbs {
		if db == nil {
			t.FailNow()
		}
		defer db.Close()
		if v, err := db.Version(t.Context()); err != nil || v != newest {
			t.Fatalf("schema version %d (%v), want %d", v, err, newest)
		}
	}
}
