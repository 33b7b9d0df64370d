package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/service"
)

// Service is a running parcelguard service for the bench to drive.
type Service struct {
	// URL is the base URL of its HTTP API.
	URL string
	// Svc and Store are the running service's own, used only to set up
	// (sites, keys, parcels), to read the PINs recipients would receive,
	// and to see when the scheduler and the outbox are done.
	Svc   *service.Service
	Store parcelguard.Store
	// Stop shuts the service down and releases its data.
	Stop func() error
}

// Engine is a store engine to measure. Each call gives a fresh, empty
// store, so the floor and the service start alike.
type Engine struct {
	Name string
	// Open opens a store for the floor, with the durability settings the
	// service uses; close closes it and releases its data.
	Open func(ctx context.Context) (store parcelguard.Store, close func() error, err error)
	// Start starts the service, wired as serve wires it, on a free
	// loopback port.
	Start func(ctx context.Context) (*Service, error)
}

// Config is a bench run.
type Config struct {
	Engines []Engine
	// Duration is the longest one phase (one operation on one engine,
	// floor or service) runs.
	Duration time.Duration
	// Concurrency is how many workers (store callers or HTTP clients) run
	// at once.
	Concurrency int
	// Progress, if set, gets a progress bar (a terminal).
	Progress io.Writer
	// CPUProfile, if set, gets a CPU profile of the service phases.
	CPUProfile io.Writer
}

// floorRateBound is a generous bound of the floor's ops/s on a small
// machine; it sizes the floor's parcel pool, which ends a phase early if
// it runs out (the ops/s stay right, over a shorter phase).
const floorRateBound = 6000

// phasesPerEngine is floor and service for each of three operations.
const phasesPerEngine = 6

// Run measures every engine and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Duration <= 0 {
		return nil, errors.New("bench: duration must be positive")
	}
	if cfg.Concurrency < 1 {
		return nil, errors.New("bench: concurrency must be at least 1")
	}
	if len(cfg.Engines) == 0 {
		return nil, errors.New("bench: no engine to measure")
	}
	r := &Report{DurationSeconds: cfg.Duration.Seconds(), Concurrency: cfg.Concurrency,
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version()}
	p := newProgress(cfg.Progress, phasesPerEngine*len(cfg.Engines), cfg.Duration)
	defer p.done()
	for _, e := range cfg.Engines {
		res, err := runEngine(ctx, cfg, e, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name, err)
		}
		r.Results = append(r.Results, res...)
	}
	return r, nil
}

func runEngine(ctx context.Context, cfg Config, e Engine, p *progress) ([]Result, error) {
	floor, err := runFloor(ctx, cfg, e, p)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
	}
	svc, drain, err := runService(ctx, cfg, e, p, floor)
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
		cfg.CPUProfile = nil // one profile per run: of the first engine
	}
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	var out []Result
	for i, op := range []string{OpDeposit, OpPickup, OpExpiry} {
		res := Result{Engine: e.Name, Op: op, Floor: floor[i], Service: svc[i], OutboxDrainSeconds: drain[i].Seconds()}
		if floor[i].OpsPerSec > 0 {
			res.Ratio = math.Round(svc[i].OpsPerSec/floor[i].OpsPerSec*1000) / 1000
		}
		out = append(out, res)
	}
	return out, nil
}

// runFloor measures deposit, pickup and expiry straight on the store.
func runFloor(ctx context.Context, cfg Config, e Engine, p *progress) (stats [3]Stats, err error) {
	p.setLabel(e.Name + " floor: seeding")
	store, closeStore, err := e.Open(ctx)
	if err != nil {
		return stats, err
	}
	defer func() { err = errors.Join(err, closeStore()) }()
	keys, err := code.GenerateKeyring()
	if err != nil {
		return stats, err
	}
	svc := service.New(service.Config{Store: store, Clock: parcelguard.SystemClock{}, Keys: keys})
	w, err := newWorld(ctx, svc, store, poolSize(floorRateBound, cfg))
	if err != nil {
		return stats, err
	}
	update := func(f func(context.Context, parcelguard.Tx, *item) error) func(context.Context, int, int) error {
		return func(ctx context.Context, _ int, i int) error {
			it := &w.items[i]
			return store.Update(ctx, func(tx parcelguard.Tx) error { return f(ctx, tx, it) })
		}
	}
	p.setLabel(e.Name + " floor: deposit")
	deposited, s, err := measure(ctx, cfg, p, w.all(), update(floorDeposit))
	if err != nil {
		return stats, fmt.Errorf("deposit: %w", err)
	}
	stats[0] = s
	pick, rest := split(deposited)
	p.setLabel(e.Name + " floor: pickup")
	picked, s, err := measure(ctx, cfg, p, pick, update(floorPickup))
	if err != nil {
		return stats, fmt.Errorf("pickup: %w", err)
	}
	stats[1] = s
	p.setLabel(e.Name + " floor: expiry")
	_, s, err = measure(ctx, cfg, p, append(rest, notIn(pick, picked)...), update(floorExpire))
	if err != nil {
		return stats, fmt.Errorf("expiry: %w", err)
	}
	stats[2] = s
	return stats, nil
}

// measure runs op over the items (indexes into the world) and returns the
// ones it completed and the phase's stats.
func measure(ctx context.Context, cfg Config, p *progress, items []int, op func(ctx context.Context, worker, item int) error) ([]int, Stats, error) {
	done := make([]bool, len(items))
	lat, elapsed, err := phase(ctx, cfg.Concurrency, len(items), cfg.Duration, p, func(ctx context.Context, worker, i int) error {
		if err := op(ctx, worker, items[i]); err != nil {
			return err
		}
		done[i] = true // each i goes to one worker; read after all finished
		return nil
	})
	if err != nil {
		return nil, Stats{}, err
	}
	var completed []int
	for i, ok := range done {
		if ok {
			completed = append(completed, items[i])
		}
	}
	return completed, summarize(lat, elapsed), nil
}

// poolSize is how many parcels a run seeds for rate ops/s over a phase.
func poolSize(rate float64, cfg Config) int {
	return int(math.Ceil(rate*cfg.Duration.Seconds())) + cfg.Concurrency
}

// split keeps a third of the deposited parcels back from pickup for the
// expiry phase.
func split(deposited []int) (pickup, expiry []int) {
	n := len(deposited) * 2 / 3
	return deposited[:n:n], deposited[n:]
}

// notIn returns the items of all not in some.
func notIn(all, some []int) []int {
	in := make(map[int]bool, len(some))
	for _, i := range some {
		in[i] = true
	}
	var out []int
	for _, i := range all {
		if !in[i] {
			out = append(out, i)
		}
	}
	return out
}

func (w *world) all() []int {
	out := make([]int, len(w.items))
	for i := range out {
		out[i] = i
	}
	return out
}
