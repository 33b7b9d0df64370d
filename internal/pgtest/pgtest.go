package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
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
	admin, err := adminURL()
	if err != nil {
		tb.Fatal(err)
	}
	name := "pgtest_" + randomHex(8)
	if err := execSQL(admin, `CREATE DATABASE `+name+` TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`); err != nil {
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
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
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
