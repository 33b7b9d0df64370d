package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Ensure the bench's locker stand-ins take a provisioned locker's
// commands off the device channel: a command queued after they start is
// delivered to them and acked, so nothing waits for a locker that never
// comes.
func TestBenchLockersTakeCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := startApp(ctx, appConfig{store: storeFlags{dataDir: dir}, listen: "127.0.0.1:0", logger: slog.New(slog.DiscardHandler),
		schedTick: benchTick, notifyTick: benchTick, keyRate: 1e9, addrRate: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	defer a.stop()
	admin := parcelguard.Principal{Role: parcelguard.RoleAdmin, KeyPrefix: "pgk_test"}
	site, err := a.svc.CreateSite(ctx, admin, parcelguard.Site{Name: "Centrum", Address: "Prosta 51, Warszawa", Lat: 52.23, Lon: 21.0,
		TimeZone: "Europe/Warsaw", OpeningHours: "24/7"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.svc.AddCompartment(ctx, admin, parcelguard.Compartment{SiteID: site.ID, Label: "A1", Size: parcelguard.SizeM})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.devices.syncNow(ctx); err != nil { // provisions the locker
		t.Fatal(err)
	}
	lockers := &benchLockers{dir: filepath.Join(dir, "lockers")}
	if err := lockers.start(ctx); err != nil {
		t.Fatal(err)
	}
	defer lockers.stop()
	if len(lockers.conns) != 1 {
		t.Fatalf("%d lockers online, want 1", len(lockers.conns))
	}
	if err := a.svc.RemoteOpen(ctx, admin, c.ID, "bench stand-in"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, 20*time.Second, "the command taken by the locker", func() (bool, string) {
		n := lockers.taken.Load()
		return n == 1, fmt.Sprintf("%d commands taken", n)
	})
}
