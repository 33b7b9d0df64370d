package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/bench"
	"github.com/parcelguard/parcelguard/postgres"
	"github.com/parcelguard/parcelguard/sqlite"
)

// benchTick is the bench service's scheduler and dispatcher interval:
// short, so the expiry phase measures firing timers rather than waiting for
// a tick, and the outbox's drain time says how far sending lagged behind.
// Under load both loop without waiting for a tick anyway.
const benchTick = 100 * time.Millisecond

func runBench(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "bench", "Measures deposit, pickup, expiry, the doorstep handover (a courier completing a\n"+
		"delivery with the recipient's password) and the locker pickup (a locker's agent reporting a\n"+
		"pickup it opened) on each store engine twice: straight on the store (the floor: the\n"+
		"service's transactions, same durability) and through the HTTP API (the device channel for\n"+
		"the lockers' reports) of a running service with its scheduler and notification outbox, from\n"+
		"concurrent clients over loopback. Prints ops/s, latency percentiles, the ratio service/floor\n"+
		"and the service's CPU per operation split by a CPU profile into the parts of the process, and on\n"+
		"SQLite how busy its single writer was on either side.\n"+
		"With --lifecycle 10m it instead takes parcels through their whole life over the API\n"+
		"(announce, deposit, deposit SMS, pickup with its PIN, picked-up SMS) for ten minutes and\n"+
		"prints the sustained parcels/s per window, each step's latency, CPU per parcel (split by\n"+
		"a CPU profile into the writer, the API, the scheduler, the outbox, the lockers, the bench's\n"+
		"clients and the collector, with the rates that CPU time allows at best), the outbox and device\n"+
		"(grants for the lockers) backlogs, memory and how busy SQLite's single writer was, then\n"+
		"checks the invariants; a violation exits non-zero.\n"+
		"PostgreSQL is measured in scratch databases it creates on the --db server and drops.")
	duration := fs.Duration("duration", 10*time.Second, "longest run of each phase (an operation on an engine, floor or service)")
	concurrency := fs.Int("concurrency", 32, fmt.Sprintf("concurrent workers: store callers for the floor, HTTP clients for the service (with --lifecycle: workers with a parcel each, default %d)", lifecycleConcurrency))
	engines := fs.String("engines", "", "comma-separated engines: sqlite, postgres (default sqlite, plus postgres when --db is a postgres:// URL)")
	db := fs.String("db", "", "postgres:// URL of a server where the bench may create and drop scratch databases (its pool_max_conns, if any, sizes the stores' pools)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the first engine's service phases to this file (samples labelled phase=deposit, pickup, expiry, doorstep, locker-pickup, or lifecycle)")
	var lifecycle lifecycleFlag
	fs.Var(&lifecycle, "lifecycle", "instead of the phases, run whole parcel lifecycles (announce, deposit, notice, pickup, notice) through the API for this long, e.g. 10m, and check the invariants after; 0 is off")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *duration <= 0 {
		return fmt.Errorf("--duration %v: must be positive", *duration)
	}
	if *concurrency < 1 || *concurrency > 4096 {
		return fmt.Errorf("--concurrency %d: must be between 1 and 4096", *concurrency)
	}
	if lifecycle > 0 && flagSet(fs, "duration") {
		return errors.New("--duration sets the phases' length; --lifecycle runs instead of them for its own duration: give one of the two")
	}
	names, err := benchEngines(*engines, *db)
	if err != nil {
		return err
	}
	var out benchOutput
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		out.profile = f
	}
	if isTerminal(e.stderr) {
		out.progress = e.stderr
	}
	if lifecycle > 0 {
		workers := *concurrency
		if !flagSet(fs, "concurrency") && e.getenv(envName("concurrency")) == "" {
			workers = lifecycleConcurrency
		}
		return runLifecycleBench(ctx, e, time.Duration(lifecycle), workers, benchEngineList(names, *db), out, *asJSON)
	}
	cfg := bench.Config{Duration: *duration, Concurrency: *concurrency, Engines: benchEngineList(names, *db),
		Progress: out.progress, CPUProfile: out.profile}
	report, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		return report.WriteJSON(e.stdout)
	}
	return report.WriteTable(e.stdout)
}

// benchOutput is where a bench run draws its progress and writes its
// profile, if anywhere.
type benchOutput struct {
	progress io.Writer
	profile  io.Writer
}

// benchEngineList turns engine names into the engines to measure.
func benchEngineList(names []string, db string) []bench.Engine {
	var engines []bench.Engine
	for _, name := range names {
		if name == "sqlite" {
			engines = append(engines, sqliteBenchEngine())
		} else {
			engines = append(engines, postgresBenchEngine(db))
		}
	}
	return engines
}

// benchEngines checks --engines against --db and returns the engine names.
func benchEngines(list, db string) ([]string, error) {
	isPG := strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
	if db != "" && !isPG {
		return nil, fmt.Errorf("--db %q: want a postgres:// URL (SQLite always runs in a temporary directory)", redactURL(db))
	}
	if list == "" {
		if isPG {
			return []string{"sqlite", "postgres"}, nil
		}
		return []string{"sqlite"}, nil
	}
	var names []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n != "sqlite" && n != "postgres":
			return nil, fmt.Errorf("--engines: unknown engine %q: want sqlite or postgres", n)
		case slices.Contains(names, n):
			return nil, fmt.Errorf("--engines: %s named twice", n)
		case n == "postgres" && !isPG:
			return nil, errors.New("--engines postgres: give the server with --db postgres://USER@HOST:PORT/DB")
		}
		names = append(names, n)
	}
	return names, nil
}

// sqliteBenchEngine opens each store in a fresh temporary directory with
// the engine's defaults, which are serve's (WAL, synchronous=FULL).
func sqliteBenchEngine() bench.Engine {
	return bench.Engine{
		Name: "sqlite",
		Open: func(ctx context.Context) (parcelguard.Store, func() error, error) {
			dir, err := os.MkdirTemp("", "parcelguard-bench-")
			if err != nil {
				return nil, nil, err
			}
			db, err := sqlite.Open(ctx, filepath.Join(dir, "parcelguard.db"))
			if err != nil {
				return nil, nil, errors.Join(err, os.RemoveAll(dir))
			}
			return db, func() error { return errors.Join(db.Close(), os.RemoveAll(dir)) }, nil
		},
		Start: func(ctx context.Context) (*bench.Service, error) {
			dir, err := os.MkdirTemp("", "parcelguard-bench-")
			if err != nil {
				return nil, err
			}
			s, err := startBenchApp(ctx, storeFlags{dataDir: dir, pg: defaultPGFlags()}, func() error { return os.RemoveAll(dir) })
			if err != nil {
				return nil, errors.Join(err, os.RemoveAll(dir))
			}
			return s, nil
		},
	}
}

// postgresBenchEngine gives each store a scratch database on the server of
// adminURL, dropped afterwards; nothing is written to adminURL's database.
func postgresBenchEngine(adminURL string) bench.Engine {
	return bench.Engine{
		Name: "postgres",
		Open: func(ctx context.Context) (parcelguard.Store, func() error, error) {
			u, drop, err := scratchDatabase(ctx, adminURL)
			if err != nil {
				return nil, nil, err
			}
			db, err := postgres.Open(ctx, u)
			if err != nil {
				return nil, nil, errors.Join(fmt.Errorf("open scratch database: %w", err), drop())
			}
			return db, func() error { db.Close(); return drop() }, nil
		},
		Start: func(ctx context.Context) (*bench.Service, error) {
			u, drop, err := scratchDatabase(ctx, adminURL)
			if err != nil {
				return nil, err
			}
			dir, err := os.MkdirTemp("", "parcelguard-bench-")
			if err != nil {
				return nil, errors.Join(err, drop())
			}
			cleanup := func() error { return errors.Join(drop(), os.RemoveAll(dir)) }
			s, err := startBenchApp(ctx, storeFlags{dataDir: dir, db: u, pg: defaultPGFlags()}, cleanup)
			if err != nil {
				return nil, errors.Join(err, cleanup())
			}
			return s, nil
		},
	}
}

// startBenchApp starts the service as serve does, on a free loopback
// port, with rate limits too high to refuse anything (their bookkeeping
// still runs) and the notification channels on the local mailbox.
func startBenchApp(ctx context.Context, sf storeFlags, cleanup func() error) (*bench.Service, error) {
	applied := &bench.AppliedEvents{}
	a, err := startApp(ctx, appConfig{
		store:         sf,
		listen:        "127.0.0.1:0",
		logger:        slog.New(slog.DiscardHandler),
		schedTick:     benchTick,
		keyRate:       1e9,
		addrRate:      1e9,
		notifyTick:    benchTick,
		deviceApplied: applied.Done,
	})
	if err != nil {
		return nil, err
	}
	lockers := &benchLockers{dir: filepath.Join(sf.dataDir, "lockers")}
	s := &bench.Service{URL: "http://" + a.addr, Svc: a.svc, Store: a.store,
		Stop: func() error { lockers.stop(); return errors.Join(a.stop(), cleanup()) }}
	if a.devices != nil {
		s.PublishEvent, s.Applied = lockers.publish, applied
	}
	if w, ok := a.db.(*sqlite.DB); ok {
		s.Writer = w.WriterStats
	}
	if a.devices != nil {
		s.Settle = func(ctx context.Context) error {
			if err := a.devices.syncNow(ctx); err != nil {
				return err
			}
			return lockers.start(ctx)
		}
	}
	return s, nil
}

// scratchDatabase creates an empty database on the server of adminURL and
// returns its URL and a function that drops it.
func scratchDatabase(ctx context.Context, adminURL string) (string, func() error, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("--db: %w", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "parcelguard_bench_" + hex.EncodeToString(b[:])
	// The URL's pool_* parameters are for the bench's stores, not for
	// this one connection: parsed as a pool's config, they are taken out.
	admin, err := pgxpool.ParseConfig(adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("--db: %w", err)
	}
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.ConnectConfig(ctx, admin.ConnConfig)
		if err != nil {
			return fmt.Errorf("connect to %s: %w", redactURL(adminURL), err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		return "", nil, fmt.Errorf("create scratch database: %w", err)
	}
	u.Path = "/" + name
	drop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop scratch database %s: %w", name, err)
		}
		return nil
	}
	return u.String(), drop, nil
}

// isTerminal reports whether w is a terminal, where a progress bar belongs.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || runtime.GOOS == "windows" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
