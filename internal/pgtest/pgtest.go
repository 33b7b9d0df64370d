package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable that points the tests at an
// existing server instead of a throwaway cluster.
const EnvURL = "PARCELGUARD_TEST_POSTGRES"

var (
	mainCalled bool

	sharedOnce    sync.Once
	shared        *Cluster
	sharedErr     error
	sharedCleanup sync.Mutex
)

// Main runs the tests and then stops and deletes the throwaway cluster, if
// one was started. Call it from TestMain.
func Main(m *testing.M) {
	mainCalled = true
	code := m.Run()
	if admin := os.Getenv(EnvURL); admin != "" {
		for _, name := range dropAtExit {
			if err := execSQL(admin, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
				fmt.Fprintf(os.Stderr, "pgtest: drop template %s: %v\n", name, err)
			}
		}
	}
	sharedCleanup.Lock()
	if shared != nil {
		if err := shared.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		shared = nil
	}
	sharedCleanup.Unlock()
	os.Exit(code)
}

// URL returns the URL of a new, empty database for tb. On a server named by
// PARCELGUARD_TEST_POSTGRES the database is dropped when tb ends (register
// the Close of anything connected to it after calling URL, so that it runs
// first); on the throwaway cluster it goes with the cluster.
func URL(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, "template0")
}

// URLFrom is URL for a database that starts as a copy of a template: the
// first call with a given key creates the template database and runs init
// on its URL (to apply migrations, say), later calls only copy it. Copying
// a migrated database costs a fraction of migrating an empty one, so suites
// that open hundreds of stores stay fast while each test still gets a
// database of its own. init must close its connections before it returns.
func URLFrom(tb testing.TB, key string, init func(url string) error) string {
	tb.Helper()
	templatesMu.Lock()
	tp := templates[key]
	if tp == nil {
		tp = &template{}
		templates[key] = tp
	}
	templatesMu.Unlock()
	tp.once.Do(func() { tp.name, tp.err = newTemplate(init) })
	if tp.err != nil {
		tb.Fatalf("pgtest: template %s: %v", key, tp.err)
	}
	return newDatabase(tb, tp.name)
}

// template is a prepared database that URLFrom copies.
type template struct {
	once sync.Once
	name string
	err  error
}

var (
	templatesMu sync.Mutex
	templates   = map[string]*template{}
	// dropAtExit are the templates Main drops from a server named by
	// PARCELGUARD_TEST_POSTGRES.
	dropAtExit []string
)

// newTemplate creates a database, runs init on it and returns its name.
func newTemplate(init func(url string) error) (string, error) {
	admin, err := adminURL()
	if err != nil {
		return "", err
	}
	name := "pgtmpl_" + randomHex(8)
	if err := createDatabase(admin, name, "template0"); err != nil {
		return "", err
	}
	if os.Getenv(EnvURL) != "" {
		templatesMu.Lock()
		dropAtExit = append(dropAtExit, name)
		templatesMu.Unlock()
	}
	u, err := databaseURL(admin, name)
	if err != nil {
		return "", err
	}
	if err := init(u); err != nil {
		return "", err
	}
	return name, nil
}

// newDatabase creates a database copied from template for tb and returns
// its URL.
func newDatabase(tb testing.TB, template string) string {
	tb.Helper()
	admin, err := adminURL()
	if err != nil {
		tb.Fatal(err)
	}
	name := "pgtest_" + randomHex(8)
	if err := createDatabase(admin, name, template); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	// A throwaway cluster is deleted whole when the tests end; dropping
	// each database first would only cost time (and an fsync or two).
	if os.Getenv(EnvURL) != "" {
		tb.Cleanup(func() {
			if err := execSQL(admin, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
				tb.Errorf("pgtest: drop database %s: %v", name, err)
			}
		})
	}
	u, err := databaseURL(admin, name)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// createDatabase creates database name as a copy of template.
func createDatabase(admin, name, template string) error {
	return execSQL(admin, `CREATE DATABASE `+name+` TEMPLATE `+template+` ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`)
}

// databaseURL is admin with its database replaced by name.
func databaseURL(admin, name string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", fmt.Errorf("pgtest: %s: %w", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// adminURL returns the URL of a database to run CREATE DATABASE from:
// $PARCELGUARD_TEST_POSTGRES, or the postgres database of the shared
// throwaway cluster, started on first use.
func adminURL() (string, error) {
	if s := os.Getenv(EnvURL); s != "" {
		if u, err := url.Parse(s); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return "", fmt.Errorf("pgtest: %s must be a postgres:// URL", EnvURL)
		}
		return s, nil
	}
	sharedOnce.Do(func() {
		if !mainCalled {
			sharedErr = fmt.Errorf("pgtest: call pgtest.Main(m) from TestMain, so that the throwaway cluster is stopped when the tests end")
			return
		}
		sharedCleanup.Lock()
		defer sharedCleanup.Unlock()
		shared, sharedErr = NewCluster()
	})
	if sharedErr != nil {
		return "", sharedErr
	}
	return shared.URL("postgres"), nil
}

// execSQL runs one statement on a short-lived connection to url.
func execSQL(url, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// SetForDatabase sets a server setting for the database of url (ALTER
// DATABASE … SET), so that every session opened on it afterwards has it:
// the way to give a test a server configured otherwise without
// restarting one.
func SetForDatabase(tb testing.TB, url, setting, value string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	var name string
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		tb.Fatal(err)
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s SET %s = %s`, pgx.Identifier{name}.Sanitize(),
		pgx.Identifier{setting}.Sanitize(), quoteLiteral(value))); err != nil {
		tb.Fatal(err)
	}
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Dedicated starts a throwaway cluster for tb alone, stopped and deleted
// when tb ends, for tests that stop and start the server under a running
// store (Stop, Start). It ignores PARCELGUARD_TEST_POSTGRES: a shared server
// cannot be restarted by one test.
func Dedicated(tb testing.TB) *Cluster {
	tb.Helper()
	c, err := NewCluster()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("pgtest: close dedicated cluster: %v", err)
		}
	})
	return c
}
