package postgres

import (
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/internal/pgtest"
	"github.com/parcelguard/parcelguard/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openTemp opens the store on a new empty database, closed at cleanup.
func openTemp(tb testing.TB, opts ...Option) *DB {
	tb.Helper()
	url := pgtest.URL(tb)
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
