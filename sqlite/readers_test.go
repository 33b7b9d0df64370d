package sqlite

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Ensure many more concurrent Views than reader sessions all complete and
// see what was committed, Ping still answers meanwhile, and after Close a
// View fails with ErrClosed.
func TestReaderSessions(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	site := &parcelguard.Site{ID: "site_1", Name: "Main", TimeZone: "UTC", CreatedAt: time.Unix(0, 0)}
	if err := db.Update(ctx, func(tx parcelguard.Tx) error { return tx.CreateSite(ctx, site) }); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 * db.cfg.readers {
		wg.Go(func() {
			err := db.View(ctx, func(tx parcelguard.Tx) error {
				<-release
				s, err := tx.Site(ctx, site.ID)
				if err == nil && s.Name != site.Name {
					err = errors.New("wrong site " + s.Name)
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	if err := db.Ping(ctx); err != nil { // every session may be busy
		t.Fatal(err)
	}
	close(release)
	wg.Wait()
	if n := len(db.readSlots); n > db.cfg.readers || n == 0 {
		t.Fatalf("%d reader sessions, want 1 to %d", n, db.cfg.readers)
	}
	// A View whose context ends while it waits for a session gives up.
	short, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.View(short, func(parcelguard.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled View: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if len(db.readSlots) != 0 {
		t.Fatalf("%d reader sessions left open after Close", len(db.readSlots))
	}
	if err := db.View(ctx, func(parcelguard.Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("View after Close: %v", err)
	}
}

// BenchmarkView measures a read transaction of three lookups, as the
// dispatcher and authentication run for every message and request.
func BenchmarkView(b *testing.B) {
	ctx := context.Background()
	db := openTemp(b)
	site := &parcelguard.Site{ID: "site_1", Name: "Main", TimeZone: "UTC", CreatedAt: time.Unix(0, 0)}
	if err := db.Update(ctx, func(tx parcelguard.Tx) error { return tx.CreateSite(ctx, site) }); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := db.View(ctx, func(tx parcelguard.Tx) error {
			for range 3 {
				if _, err := tx.Site(ctx, site.ID); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}
