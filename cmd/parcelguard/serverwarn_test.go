package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard/internal/pgtest"
)

// Ensure serve tells the operator, at start, of a PostgreSQL setting that
// weakens durability, and still serves.
func TestServeWarnsOfServerSettings(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	pgtest.SetForDatabase(t, url, "synchronous_commit", "off")

	var logs bytes.Buffer
	a, err := startApp(ctx, appConfig{store: storeFlags{dataDir: t.TempDir(), db: url, pg: defaultPGFlags()},
		listen: "127.0.0.1:0", logger: slog.New(slog.NewTextHandler(&logs, nil)),
		schedTick: benchTick, notifyTick: benchTick, keyRate: 1e9, addrRate: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	defer a.stop()
	if !strings.Contains(logs.String(), `level=WARN msg="database server setting" problem="synchronous_commit is off:`) {
		t.Fatalf("serve logged no warning of synchronous_commit:\n%s", logs.String())
	}
}
