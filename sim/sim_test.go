package sim_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/parcelguard/parcelguard/sim"
	"github.com/parcelguard/parcelguard/sqlite"
)

// openStore opens a fresh SQLite store in a temporary directory.
func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sim.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Ensure the small preset runs the whole locker life cycle through the
// service with no invariant violation and attackers within the bar.
func TestSmallPreset(t *testing.T) {
	cfg, err := sim.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := sim.Run(context.Background(), cfg, sim.Options{Store: openStore(t), Engine: "sqlite"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sum.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", sum.Parcels)
	t.Logf("attack %+v", sum.Attack)
	t.Logf("wall %+v checks %d ticks %d skipped %d", sum.Wall, sum.Invariants.Checks, sum.Ticks, sum.TicksSkipped)
	for k, v := range sum.Latency {
		t.Logf("%-20s %+v", k, v)
	}
}
