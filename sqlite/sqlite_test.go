package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/storetest"
)

// openTemp opens a new database in the test's temp dir, closed at cleanup.
func openTemp(t testing.TB) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "parcelguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
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

// Ensure the durability settings are really in force on the writer, and
// the read pool really is read-only.
func TestPragmas(t *testing.T) {
	db := openTemp(t)
	ctx := t.Context()
	// The writer's one connection is held by the writer goroutine, which
	// is idle here; the reader pool is asked through the *sql.DB.
	for _, c := range []struct {
		pool interface {
			QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
		}
		name string
		want string
	}{
		{db.stmts.conn, "journal_mode", "wal"},
		{db.stmts.conn, "synchronous", "2"}, // FULL
		{db.stmts.conn, "foreign_keys", "1"},
		{db.stmts.conn, "busy_timeout", "5000"},
		{db.stmts.conn, "temp_store", "2"}, // MEMORY
		{db.stmts.conn, "wal_autocheckpoint", "16000"},
		{db.reader, "journal_mode", "wal"},
		{db.reader, "foreign_keys", "1"},
		{db.reader, "query_only", "1"},
	} {
		var got string
		if err := c.pool.QueryRowContext(ctx, "PRAGMA "+c.name).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", c.name, err)
		}
		if !strings.EqualFold(got, c.want) {
			t.Errorf("PRAGMA %s = %s, want %s", c.name, got, c.want)
		}
	}
}

// Ensure reopening a database neither re-applies nor fails migrations, and
// that committed data survives Close.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "parcelguard.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := db.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v1 < 1 {
		t.Fatalf("schema version %d after Open", v1)
	}
	site := &parcelguard.Site{ID: "site-1", Name: "A", Address: "B"}
	err = db.Update(ctx, func(tx parcelguard.Tx) error {
		if err := tx.CreateSite(ctx, site); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, &parcelguard.Event{Stream: parcelguard.SystemStream, Kind: parcelguard.EventSiteCreated})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ctx, func(parcelguard.Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Update after Close: %v, want ErrClosed", err)
	}

	if v, err := Migrate(ctx, path); err != nil || v != v1 {
		t.Fatalf("Migrate on a migrated database = %d, %v; want %d", v, err, v1)
	}
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v2, err := db.Version(ctx); err != nil || v2 != v1 {
		t.Fatalf("schema version after reopen = %d, %v; want %d", v2, err, v1)
	}
	err = db.View(ctx, func(tx parcelguard.Tx) error {
		if _, err := tx.Site(ctx, "site-1"); err != nil {
			return err
		}
		seq, _, err := tx.StreamHead(ctx, parcelguard.SystemStream)
		if seq != 1 {
			return fmt.Errorf("head seq %d, want 1 (%v)", seq, err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Ensure a panicking fn fails only its own Update, and the writer goes on.
func TestUpdatePanic(t *testing.T) {
	db := openTemp(t)
	ctx := t.Context()
	err := db.Update(ctx, func(tx parcelguard.Tx) error {
		if err := tx.CreateSite(ctx, &parcelguard.Site{ID: "doomed", Name: "A", Address: "B"}); err != nil {
			return err
		}
		panic("boom")
	})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Update with a panicking fn = %v", err)
	}
	err = db.Update(ctx, func(tx parcelguard.Tx) error {
		return tx.CreateSite(ctx, &parcelguard.Site{ID: "site-1", Name: "A", Address: "B"})
	})
	if err != nil {
		t.Fatalf("Update after a panic: %v", err)
	}
	err = db.View(ctx, func(tx parcelguard.Tx) error {
		if _, err := tx.Site(ctx, "doomed"); !errors.Is(err, parcelguard.ErrNotFound) {
			return fmt.Errorf("the panicking fn's write: %v", err)
		}
		_, err := tx.Site(ctx, "site-1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Ensure that within one batch a failing or panicking fn is rolled back to
// its savepoint while its neighbours commit.
func TestBatchIsolation(t *testing.T) {
	db := openTemp(t)
	ctx := t.Context()
	create := func(id string, fail error, panics bool) *request {
		return &request{ctx: ctx, result: make(chan error, 1), fn: func(tx parcelguard.Tx) error {
			if err := tx.CreateSite(ctx, &parcelguard.Site{ID: id, Name: "A", Address: "B"}); err != nil {
				return err
			}
			if panics {
				panic(id)
			}
			return fail
		}}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	errFail := errors.New("fail")
	batch := []*request{
		create("ok-1", nil, false),
		create("fails", errFail, false),
		create("ok-2", nil, false),
		create("panics", nil, true),
		create("ok-3", nil, false),
		create("ok-1", nil, false), // duplicate of a write earlier in the batch
	}
	late := create("canceled", nil, false)
	late.ctx = canceled
	batch = append(batch, late)

	// The writer goroutine is idle, so running a batch here is safe: the
	// one writer connection serialises the two anyway.
	db.runBatch(batch)
	wants := []error{nil, errFail, nil, errors.New("panicked"), nil, parcelguard.ErrDuplicate, context.Canceled}
	for i, r := range batch {
		got := <-r.result
		switch want := wants[i]; {
		case want == nil && got != nil:
			t.Errorf("request %d: %v", i, got)
		case want != nil && got == nil:
			t.Errorf("request %d succeeded, want %v", i, want)
		case want != nil && !errors.Is(got, want) && !strings.Contains(got.Error(), want.Error()):
			t.Errorf("request %d: %v, want %v", i, got, want)
		}
	}
	err := db.View(ctx, func(tx parcelguard.Tx) error {
		sites, err := tx.Sites(ctx, parcelguard.SiteFilter{})
		var ids []string
		for _, s := range sites {
			ids = append(ids, s.ID)
		}
		if got := strings.Join(ids, ","); got != "ok-1,ok-2,ok-3" {
			return fmt.Errorf("sites after batch: %s", got)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Ensure concurrent Updates really share commits.
func TestGroupCommit(t *testing.T) {
	db := openTemp(t)
	ctx := t.Context()
	const n = 64
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			err := db.Update(ctx, func(tx parcelguard.Tx) error {
				return tx.AppendEvent(ctx, &parcelguard.Event{Stream: parcelguard.SystemStream, Kind: parcelguard.EventSiteCreated,
					Data: map[string]string{"i": fmt.Sprint(i)}})
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	before := db.WriterStats()
	close(start)
	wg.Wait()
	st := db.WriterStats().Sub(before)
	commits, updates := st.Commits, st.Updates
	t.Logf("%d updates in %d commits, writer busy %v, committing %v", updates, commits, st.Busy, st.Committing)
	if st.Committing <= 0 || st.Busy < st.Committing {
		t.Errorf("writer busy %v, committing %v: want 0 < committing <= busy", st.Busy, st.Committing)
	}
	if updates != n {
		t.Fatalf("%d updates committed, want %d", updates, n)
	}
	if commits >= updates {
		t.Fatalf("%d updates took %d commits: none were shared", updates, commits)
	}
}

// Ensure Open rejects paths that cannot work with a connection pool.
func TestOpenBadPath(t *testing.T) {
	for _, p := range []string{"", ":memory:", "a.db?mode=ro"} {
		if db, err := Open(t.Context(), p); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}
