package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/postgres"
	"github.com/parcelguard/parcelguard/sim"
	"github.com/parcelguard/parcelguard/sqlite"
)

const simSynopsis = `sim [--preset small|peak-day] [--scale F] [--attack-pace fastest|patient] [--out DIR] [--db postgres://...]

Simulates a locker network through the service on a compressed clock: parcels
arriving along a daily curve, courier deposit and return rounds, recipients
coming after hours or never (expiry, reminders and returns through the real
scheduler; notifications through the real outbox), doorstep deliveries with
passwords, failed attempts and redirects to lockers, delegates at the door and
at the locker, and attackers guessing PINs at kiosks within the locker guard's
limits. Invariants are checked while it runs and at the end; any violation
makes the command exit with status 1.

Writes DIR/summary.json and DIR/report.html (self-contained). Without --db it
runs on a fresh SQLite database in a temporary directory, removed afterwards.
peak-day is about 14 million parcels over 35,000 sites; --scale 0.01 runs 1 %.`

func runSim(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "sim", simSynopsis)
	preset := fs.String("preset", "small", "network preset: "+strings.Join(sim.Presets(), " or "))
	scale := fs.Float64("scale", 1, "fraction of the preset's sites, parcels and attackers to simulate (0 < scale <= 1)")
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("out", "sim-out", "directory for summary.json and report.html")
	db := fs.String("db", "", "database: empty for a temporary SQLite file, a SQLite path, or an (empty) postgres:// database")
	attackers := fs.Int("attackers", -1, "number of attackers (-1 for the preset's)")
	pace := fs.String("attack-pace", sim.PaceFastest, "attackers' pace: "+sim.PaceFastest+" (each guess the moment the kiosk allows) or "+sim.PacePatient+" (one guess per leak interval after the free budget: no alarm, the most guesses)")
	workers := fs.Int("workers", 0, "concurrent actors per tick (0 for the preset's)")
	asJSON := fs.Bool("json", false, "print the JSON summary on stdout instead of a short report")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (for go tool pprof)")
	doorstep := fs.Int("doorstep", -1, "doorstep shipments (-1 for the preset's: 5 % of the parcels, 40 in small)")
	delegates := fs.Float64("delegates", -1, "share of locker recipients who name delegates (-1 for the preset's)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	cfg, err := sim.Preset(*preset)
	if err != nil {
		return usageErr(e, err)
	}
	if !(*scale > 0 && *scale <= 1) {
		return usageErr(e, fmt.Errorf("--scale must be in (0, 1], got %v", *scale))
	}
	cfg = cfg.Scaled(*scale)
	cfg.Seed = *seed
	if *attackers >= 0 {
		cfg.Attackers = *attackers
	}
	cfg.AttackPace = *pace
	if *workers > 0 {
		cfg.Workers = *workers
	}
	if err := cfg.Validate(); err != nil {
		return usageErr(e, err)
	}
	actors, err := simActors(cfg, *doorstep, *delegates)
	if err != nil {
		return usageErr(e, err)
	}
	store, engine, cleanup, err := openSimStore(ctx, *db)
	if err != nil {
		return err
	}
	defer cleanup()
	opts := sim.Options{Store: store, Engine: engine, Actors: actors}
	if !*quiet {
		opts.Progress = e.stderr
		fmt.Fprintf(e.stderr, "sim: preset %s × %g: %d sites × ~%d compartments, %d parcels, %d attacker(s) on %s\n",
			cfg.Preset, cfg.Scale, cfg.Sites, cfg.CompartmentsPerSite, cfg.Parcels, cfg.Attackers, engine)
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	sum, err := sim.Run(ctx, cfg, opts)
	if err != nil {
		return err
	}
	if err := writeSimOutput(*out, sum); err != nil {
		return err
	}
	if *asJSON {
		if err := sim.WriteJSON(e.stdout, sum); err != nil {
			return err
		}
	} else {
		printSimSummary(e, sum, *out)
	}
	if err := sum.Err(); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("sim: %w", err)}
	}
	return nil
}

// simActors returns the preset's doorstep and delegate actors, with the
// flags' numbers where given.
func simActors(cfg sim.Config, doorstep int, delegates float64) ([]sim.Actor, error) {
	actors := sim.PresetActors(cfg)
	if doorstep >= 0 {
		actors[0] = sim.NewDoorstep(sim.DefaultDoorstep(doorstep))
	}
	if delegates >= 0 {
		if delegates > 1 {
			return nil, fmt.Errorf("--delegates must be in [0, 1], got %v", delegates)
		}
		actors[1] = sim.NewLockerDelegates(delegates)
	}
	return actors, nil
}

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// usageErr prints a bad flag value's error and reports a usage error.
func usageErr(e *env, err error) error {
	fmt.Fprintln(e.stderr, err)
	return errUsage
}

// openSimStore opens the simulation's database: a fresh SQLite file in a
// temporary directory unless --db names one.
func openSimStore(ctx context.Context, db string) (parcelguard.Store, string, func(), error) {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		s, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, "", nil, fmt.Errorf("open database %s: %w", redactURL(db), err)
		}
		return s, "postgres", func() { s.Close() }, nil
	}
	path, dir := db, ""
	if path == "" {
		var err error
		if dir, err = os.MkdirTemp("", "parcelguard-sim-"); err != nil {
			return nil, "", nil, fmt.Errorf("create temporary directory: %w", err)
		}
		path = filepath.Join(dir, "sim.db")
	}
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		if dir != "" {
			os.RemoveAll(dir)
		}
		return nil, "", nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return s, "sqlite", func() {
		s.Close()
		if dir != "" {
			os.RemoveAll(dir)
		}
	}, nil
}

func writeSimOutput(dir string, sum *sim.Summary) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	write := func(name string, fn func(f *os.File) error) error {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		return errors.Join(fn(f), f.Close())
	}
	if err := write("summary.json", func(f *os.File) error { return sim.WriteJSON(f, sum) }); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if err := write("report.html", func(f *os.File) error { return sim.WriteHTML(f, sum) }); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func printSimSummary(e *env, s *sim.Summary, dir string) {
	w := e.stdout
	verdict := "OK: no invariant violated"
	if s.Invariants.Violations > 0 {
		verdict = fmt.Sprintf("FAILED: %d invariant violation(s)", s.Invariants.Violations)
	}
	fmt.Fprintf(w, "%s (%d checks)\n", verdict, s.Invariants.Checks)
	fmt.Fprintf(w, "network    %d sites, %d compartments; %.1f simulated days\n", s.Network.Sites, s.Network.Compartments, s.Wall.SimulatedDays)
	fmt.Fprintf(w, "parcels    %d arrived, %d deposited, %d picked up, %d expired, %d returned\n",
		s.Parcels.Arrived, s.Parcels.Deposited, s.Parcels.PickedUp, s.Parcels.Expired, s.Parcels.Returned)
	fmt.Fprintf(w, "wall       seed %.1f s, run %.1f s: %.0f parcels/s, %.0f service calls/s; peak RSS %.0f MiB; load average %.1f on %d CPUs\n",
		s.Wall.SeedSeconds, s.Wall.RunSeconds, s.Wall.ParcelsPerSecond, s.Wall.ServiceCallsPerSecond, float64(s.Wall.PeakRSSBytes)/(1<<20),
		s.Wall.LoadAverage, s.Wall.GoMaxProcs)
	a := s.Attack
	fmt.Fprintf(w, "attack     %d attacker(s): %d guesses (%.1f each, fastest pace %d, bound %d at any pace), %d opened; P(nothing opens) simulated %.9f, analytic bound %.9f (bar %.4f)\n",
		a.Attackers, a.Guesses, a.GuessesPerAttacker, a.Bound.FastestGuesses, a.Bound.MaxGuesses, a.Opened, a.SimulatedPNothingOpens, a.Bound.PNothingOpens, sim.Bar)
	if d := s.Doorstep; d != nil {
		fmt.Fprintf(w, "doorstep   %d shipments: %d delivered (%d to a delegate), %d failed attempts %v, %d lockouts, %d redirected (%d picked up there), %d returned\n",
			d.Announced, d.Delivered, d.ByDelegate, d.FailedAttempts, d.ByReason, d.Lockouts, d.Redirected, d.RedirectPickedUp, d.Returned)
	}
	if l := s.LockerDelegates; l != nil {
		fmt.Fprintf(w, "delegates  %d parcels with two delegates: %d taken by a delegate, %d by the recipient, %d later codes refused\n",
			l.Parcels, l.PickedUpByDelegate, l.PickedUpByRecipient, l.LaterCodesRefused)
	}
	fmt.Fprintf(w, "audit      %d chains, %d events, intact: %v\n", s.Audit.Streams, s.Audit.Events, s.Audit.OK)
	fmt.Fprintf(w, "report     %s, %s\n", filepath.Join(dir, "report.html"), filepath.Join(dir, "summary.json"))
}
