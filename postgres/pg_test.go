package postgres

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/internal/pgtest"
)

var t0 = time.Date(2026, 3, 2, 9, 30, 15, 123456789, time.UTC)

// seedSite creates a site for tests that need a row to fight over.
func seedSite(t *testing.T, db *DB, id string) {
	t.Helper()
	err := db.Update(t.Context(), func(tx parcelguard.Tx) error {
		return tx.CreateSite(t.Context(), &parcelguard.Site{ID: id, Name: "Locker", Address: "Prosta 51", CreatedAt: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Ensure a serialization failure re-runs fn instead of failing the Update:
// two REPEATABLE READ transactions read the same guard, then both save it;
// the database aborts the second, which then runs again and succeeds.
func TestRetrySerializationFailure(t *testing.T) {
	db := openTemp(t)
	seedSite(t, db, "site-1")
	ctx := t.Context()
	var (
		read     sync.WaitGroup
		wg       sync.WaitGroup
		attempts atomic.Int64
	)
	// Seed the guard so both save with an UPDATE on one row.
	if err := db.Update(ctx, func(tx parcelguard.Tx) error {
		return tx.SaveLockerGuard(ctx, &parcelguard.LockerGuard{SiteID: "site-1"})
	}); err != nil {
		t.Fatal(err)
	}
	read.Add(2)
	for range 2 {
		wg.Go(func() {
			first := true
			err := db.Update(ctx, func(ptx parcelguard.Tx) error {
				attempts.Add(1)
				// The first statement, so it still sets the isolation level.
				if _, err := ptx.(*tx).exec(ctx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
					return err
				}
				g, err := ptx.LockerGuard(ctx, "site-1")
				if err != nil {
					return err
				}
				if first { // both have their snapshot before either saves
					first = false
					read.Done()
					read.Wait()
				}
				g.Failures++
				return ptx.SaveLockerGuard(ctx, g)
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if db.retries.Load() == 0 || attempts.Load() < 3 {
		t.Fatalf("%d retries, %d attempts: the serialization failure was not retried", db.retries.Load(), attempts.Load())
	}
	err := db.View(ctx, func(tx parcelguard.Tx) error {
		g, err := tx.LockerGuard(ctx, "site-1")
		if err != nil {
			return err
		}
		if g.Failures != 2 || g.Version != 3 {
			return fmt.Errorf("guard after two increments: Failures %d, Version %d", g.Failures, g.Version)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Ensure retries are bounded: a transaction that always fails with a
// serialization failure runs 1+WithMaxRetries times, then fails with it.
func TestRetryBound(t *testing.T) {
	db := openTemp(t, WithMaxRetries(3))
	var attempts int
	err := db.Update(t.Context(), func(ptx parcelguard.Tx) error {
		attempts++
		_, err := ptx.(*tx).exec(t.Context(), `DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '40001'; END $$`)
		return err
	})
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != codeSerializationFailure {
		t.Fatalf("got %v, want the serialization failure", err)
	}
	if attempts != 4 {
		t.Fatalf("%d attempts, want 4", attempts)
	}
}

// Ensure database errors map onto the domain's sentinels.
func TestErrors(t *testing.T) {
	db := openTemp(t, WithStatementTimeout(100*time.Millisecond))
	seedSite(t, db, "site-1")
	ctx := t.Context()
	for _, c := range []struct {
		name string
		fn   func(tx parcelguard.Tx) error
		want error
	}{
		{"duplicate", func(tx parcelguard.Tx) error {
			return tx.CreateSite(ctx, &parcelguard.Site{ID: "site-1", Name: "x", Address: "y"})
		}, parcelguard.ErrDuplicate},
		{"foreign key", func(tx parcelguard.Tx) error {
			return tx.CreateCompartment(ctx, &parcelguard.Compartment{ID: "c", SiteID: "nowhere", Label: "A", Size: parcelguard.SizeS, State: parcelguard.CompartmentFree})
		}, parcelguard.ErrNotFound},
		{"no row", func(tx parcelguard.Tx) error {
			_, err := tx.Parcel(ctx, "nothing")
			return err
		}, parcelguard.ErrNotFound},
		{"missing row", func(tx parcelguard.Tx) error {
			return tx.SaveLockerGuard(ctx, &parcelguard.LockerGuard{SiteID: "site-1", Version: 7})
		}, parcelguard.ErrNotFound},
		{"stale version", func(tx parcelguard.Tx) error {
			if err := tx.SaveLockerGuard(ctx, &parcelguard.LockerGuard{SiteID: "site-1"}); err != nil {
				return err
			}
			return tx.SaveLockerGuard(ctx, &parcelguard.LockerGuard{SiteID: "site-1", Version: 7})
		}, parcelguard.ErrConflict},
		{"statement timeout", func(ptx parcelguard.Tx) error {
			_, err := ptx.(*tx).exec(ctx, "SELECT pg_sleep(1)")
			return dbErr(err)
		}, parcelguard.ErrUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := db.Update(ctx, c.fn); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}

	// Nothing listens on the port: the store is unavailable, not broken.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	_, err = Open(ctx, fmt.Sprintf("postgres://nobody@127.0.0.1:%d/none?sslmode=disable", port), WithConnectTimeout(time.Second))
	if !errors.Is(err, parcelguard.ErrUnavailable) {
		t.Fatalf("open without a server: got %v, want ErrUnavailable", err)
	}
}

// Ensure a transaction aborted by a failed statement cannot commit, even if
// fn swallows the error.
func TestAbortedTransaction(t *testing.T) {
	db := openTemp(t)
	seedSite(t, db, "site-1")
	ctx := t.Context()
	err := db.Update(ctx, func(tx parcelguard.Tx) error {
		_ = tx.CreateCarrier(ctx, &parcelguard.Carrier{ID: "car-1", Name: "C"})
		_ = tx.CreateSite(ctx, &parcelguard.Site{ID: "site-1", Name: "x", Address: "y"}) // duplicate
		return nil
	})
	if err == nil {
		t.Fatal("Update of an aborted transaction succeeded")
	}
	err = db.View(ctx, func(tx parcelguard.Tx) error {
		_, err := tx.Carrier(ctx, "car-1")
		return err
	})
	if !errors.Is(err, parcelguard.ErrNotFound) {
		t.Fatalf("write of the aborted transaction: got %v, want ErrNotFound", err)
	}
}

// Ensure concurrent appends to one stream queue on its head and form one
// unbroken chain 1..n, without needing retries.
func TestConcurrentAppendOneStream(t *testing.T) {
	db := openTemp(t)
	ctx := t.Context()
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := db.Update(ctx, func(tx parcelguard.Tx) error {
				return tx.AppendEvent(ctx, &parcelguard.Event{Stream: "site:a", At: t0.Add(time.Duration(i)),
					Kind: parcelguard.EventDoorOpened, Data: map[string]string{"i": fmt.Sprint(i)}})
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	err := db.View(ctx, func(tx parcelguard.Tx) error {
		evs, err := tx.Events(ctx, parcelguard.EventFilter{Stream: "site:a"})
		if err != nil {
			return err
		}
		if len(evs) != n {
			return fmt.Errorf("%d events, want %d", len(evs), n)
		}
		var prev []byte
		for i, e := range evs {
			if e.Seq != int64(i+1) || !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, parcelguard.ChainHash(prev, e)) {
				return fmt.Errorf("chain broken at event %d (seq %d)", i, e.Seq)
			}
			prev = e.Hash
		}
		seq, hash, err := tx.StreamHead(ctx, "site:a")
		if err != nil {
			return err
		}
		if seq != n || !bytes.Equal(hash, prev) {
			return fmt.Errorf("head %d %x, want %d %x", seq, hash, n, prev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := db.retries.Load(); r != 0 {
		t.Errorf("%d retries; appends should queue on the head lock instead", r)
	}
}

// Ensure an append waits only for transactions holding the same stream:
// while one transaction holds stream a, another commits an append to b,
// and a third appending to a waits until the first commits. The append
// travels with the transaction's next statement, here a read, and holds
// the head from then on.
func TestAppendLocksOnlyItsStream(t *testing.T) {
	db := openTemp(t)
	ctx := t.Context()
	appendTo := func(stream string, hold <-chan struct{}) error {
		return db.Update(ctx, func(tx parcelguard.Tx) error {
			if err := tx.AppendEvent(ctx, &parcelguard.Event{Stream: stream, At: t0, Kind: parcelguard.EventDoorOpened}); err != nil {
				return err
			}
			if hold != nil {
				if _, _, err := tx.StreamHead(ctx, stream); err != nil {
					return err
				}
				<-hold
			}
			return nil
		})
	}
	release := make(chan struct{})
	holding := make(chan error, 1)
	go func() { holding <- appendTo("site:a", release) }()
	// Wait until the holder has locked stream a's head.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var seq int64
		err := db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
			WHERE a.datname = current_database() AND l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock'
			AND a.pid <> pg_backend_pid()`).Scan(&seq)
		if err != nil {
			t.Fatal(err)
		}
		if seq > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the holder never started")
		}
		time.Sleep(10 * time.Millisecond)
	}

	other := make(chan error, 1)
	go func() { other <- appendTo("site:b", nil) }()
	select {
	case err := <-other:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an append to another stream waited for the holder of stream a")
	}

	same := make(chan error, 1)
	go func() { same <- appendTo("site:a", nil) }()
	select {
	case err := <-same:
		t.Fatalf("an append to the held stream finished while it was held: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	for _, ch := range []chan error{holding, same} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	err := db.View(ctx, func(tx parcelguard.Tx) error {
		seq, _, err := tx.StreamHead(ctx, "site:a")
		if err == nil && seq != 2 {
			err = fmt.Errorf("stream a at seq %d, want 2", seq)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Ensure readiness follows the database: Ping and Update fail with
// ErrUnavailable while the server is down, and work again after it is
// back, on the same DB.
func TestServerRestart(t *testing.T) {
	c, err := pgtest.NewCluster()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := t.Context()
	db, err := Open(ctx, c.URL("postgres"), WithConnectTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	seedSite(t, db, "site-1")

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); !errors.Is(err, parcelguard.ErrUnavailable) {
		t.Fatalf("Ping with the server down: got %v, want ErrUnavailable", err)
	}
	err = db.View(ctx, func(tx parcelguard.Tx) error { _, err := tx.Site(ctx, "site-1"); return err })
	if !errors.Is(err, parcelguard.ErrUnavailable) {
		t.Fatalf("View with the server down: got %v, want ErrUnavailable", err)
	}

	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for db.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("Ping still fails after the restart: %v", db.Ping(ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
	err = db.View(ctx, func(tx parcelguard.Tx) error { _, err := tx.Site(ctx, "site-1"); return err })
	if err != nil {
		t.Fatalf("View after the restart: %v", err)
	}
}

// Ensure writes whose outcome nobody waits for (timers scheduled and
// cancelled) travel with the next statement or the COMMIT instead of
// costing round trips of their own, and still behave as if sent at once:
// visible to the transaction's next read, committed with it, failing it
// when they fail, refused in a read-only transaction.
func TestDeferredWrites(t *testing.T) {
	db := openTemp(t)
	seedSite(t, db, "site-1")
	ctx := t.Context()
	err := db.Update(ctx, func(tx parcelguard.Tx) error {
		if err := tx.CreateCarrier(ctx, &parcelguard.Carrier{ID: "car-1", Name: "C", CreatedAt: t0}); err != nil {
			return err
		}
		return tx.CreateParcel(ctx, &parcelguard.Parcel{ID: "par-1", CarrierID: "car-1", TrackingNumber: "T1",
			Recipient: parcelguard.Recipient{Name: "R", Phone: "+48600100200"}, Size: parcelguard.SizeS,
			Mode: parcelguard.HandoverLocker, State: parcelguard.ParcelAnnounced, SiteID: "site-1", CreatedAt: t0, UpdatedAt: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	schedule := func(tx parcelguard.Tx, parcel string, kind parcelguard.TimerKind, due time.Time) error {
		return tx.ScheduleTimer(ctx, &parcelguard.Timer{Kind: kind, ParcelID: parcel, DueAt: due})
	}

	before := db.roundTrips.Load()
	err = db.Update(ctx, func(tx parcelguard.Tx) error {
		return errors.Join(
			schedule(tx, "par-1", parcelguard.TimerExpiry, t0.Add(72*time.Hour)),
			schedule(tx, "par-1", parcelguard.TimerReminder, t0.Add(48*time.Hour)),
			tx.CancelTimers(ctx, "par-1", parcelguard.TimerReminder))
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := db.roundTrips.Load() - before; n != 1 {
		t.Errorf("three timer writes and the commit took %d round trips, want 1", n)
	}
	next := func() time.Time {
		var due time.Time
		if err := db.View(ctx, func(tx parcelguard.Tx) (err error) { due, err = tx.NextTimer(ctx); return err }); err != nil {
			t.Fatal(err)
		}
		return due
	}
	if due := next(); !due.Equal(t0.Add(72 * time.Hour)) {
		t.Fatalf("next timer due %v, want the expiry at %v (the reminder cancelled)", due, t0.Add(72*time.Hour))
	}

	// The transaction's own next read sees the queued write.
	err = db.Update(ctx, func(tx parcelguard.Tx) error {
		if err := schedule(tx, "par-1", parcelguard.TimerReminder, t0.Add(time.Hour)); err != nil {
			return err
		}
		due, err := tx.NextTimer(ctx)
		if err == nil && !due.Equal(t0.Add(time.Hour)) {
			err = fmt.Errorf("inside the transaction the next timer is due %v, want %v", due, t0.Add(time.Hour))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// A failing queued write fails the transaction, which leaves nothing.
	err = db.Update(ctx, func(tx parcelguard.Tx) error {
		return errors.Join(tx.CancelTimers(ctx, "par-1"), schedule(tx, "nowhere", parcelguard.TimerExpiry, t0))
	})
	if !errors.Is(err, parcelguard.ErrNotFound) {
		t.Fatalf("timer of a missing parcel: got %v, want ErrNotFound", err)
	}
	if due := next(); !due.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after the failed transaction the next timer is due %v, want %v", due, t0.Add(time.Hour))
	}

	// A read-only transaction refuses the write as before.
	err = db.View(ctx, func(tx parcelguard.Tx) error { return tx.CancelTimers(ctx, "par-1") })
	if err == nil {
		t.Fatal("a View cancelled timers without an error")
	}
	if due := next(); !due.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after the View the next timer is due %v, want %v", due, t0.Add(time.Hour))
	}
}

// Ensure a lookup that finds nothing keeps its pipeline's prepared
// statements: an error out of a batch makes pgx drop them all, and
// preparing them again costs a round trip on their next use.
func TestNotFoundKeepsStatements(t *testing.T) {
	db := openTemp(t)
	ctx := t.Context()
	err := db.Update(ctx, func(ptx parcelguard.Tx) error {
		if _, err := ptx.Parcel(ctx, "nothing"); !errors.Is(err, parcelguard.ErrNotFound) {
			return fmt.Errorf("missing parcel: got %v, want ErrNotFound", err)
		}
		var n int
		if err := ptx.(*tx).queryRow(ctx, `SELECT count(*) FROM pg_prepared_statements
			WHERE statement LIKE '%FROM parcels WHERE id = $1'`, nil, &n); err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("%d prepared parcel lookups after it found nothing, want 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
