package agent

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// Ensure an agent store made before the slow detector is upgraded on open:
// its guard keeps its counters, gains a drained slow level, and then saves
// and loads the slow level like a new store.
func TestStoreGuardUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agent.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(ctx, `CREATE TABLE guard (
		id INTEGER PRIMARY KEY CHECK (id = 1), failures INTEGER NOT NULL, window_start INTEGER NOT NULL,
		last_failure INTEGER NOT NULL, blocked_until INTEGER NOT NULL, alarmed INTEGER NOT NULL) STRICT;
		INSERT INTO guard VALUES (1, 4, 0, 0, 0, 1)`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	for range 2 { // the second open finds the column in place
		s, err := openStore(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	s, err := openStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	slow := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		g, err := loadGuard(ctx, tx)
		if err != nil {
			return err
		}
		if g.Failures != 4 || !g.Alarmed || !g.SlowUntil.IsZero() {
			t.Fatalf("upgraded guard %+v", g)
		}
		g.SlowUntil = slow
		return saveGuard(ctx, tx, g)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		g, err := loadGuard(ctx, tx)
		if err == nil && !g.SlowUntil.Equal(slow) {
			t.Fatalf("slow until %v, want %v", g.SlowUntil, slow)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
