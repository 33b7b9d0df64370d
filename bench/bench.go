package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"time"

	"github.com/google/pprof/profile"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/devicemsg"
	pgnats "github.com/parcelguard/parcelguard/nats"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
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
	// Settle, if set, finishes the background work that new sites start
	// (provisioning their lockers) now, so that it does not fall into the
	// first measured phase: a network at rest is what the phases compare.
	// It also brings the lockers online, so that their commands are taken
	// off the device channel as a live network's are.
	Settle func(ctx context.Context) error
	// Writer, if set, reports the store's single writer's work (SQLite),
	// so that a run can say how busy the writer was.
	Writer func() sqlite.WriterStats
	// PublishEvent reports ev over the device channel as its locker, and
	// returns once the channel has stored it; Applied hears when the
	// service has applied it. Without them the locker pickup fails.
	PublishEvent func(ctx context.Context, ev devicemsg.Event) error
	Applied      *AppliedEvents
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

// phasesPerEngine is floor and service for each of five operations.
const phasesPerEngine = 10

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
		cfg.CPUProfile = nil // one profile per run: the first engine's
	}
	return r, nil
}

func runEngine(ctx context.Context, cfg Config, e Engine, p *progress) (res []Result, err error) {
	p.setLabel(e.Name + ": seeding the floor")
	f, err := openFloor(ctx, cfg, e)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	defer func() { err = errors.Join(err, f.close()) }()
	p.setLabel(e.Name + ": starting the service")
	s, err := startService(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	var prof *phaseProfiler
	if cfg.CPUProfile != nil {
		prof = &phaseProfiler{}
		defer func() {
			if err == nil {
				err = prof.write(cfg.CPUProfile)
			}
		}()
	}

	// The service's phases are profiled whenever the profiler is free, for
	// their CPU parts.
	profiles := map[string]*profile.Profile{}

	// Each operation runs on the floor and then at once on the service,
	// so that both meet the same machine, however busy it is.
	var floor, svc [5]Stats
	var drain [5]time.Duration
	steps := []struct {
		name string
		run  func() error
		// profile names the phase in the CPU profile; empty is not profiled.
		profile string
	}{
		{"floor deposit", func() (err error) { floor[0], err = f.deposit(ctx, cfg, p); return err }, ""},
		{"service seeding", func() error { return s.seed(ctx, poolSize(max(floor[0].OpsPerSec*1.25, 50), cfg), cfg.Concurrency) }, ""},
		{"service deposit", func() (err error) { svc[0], drain[0], err = s.deposit(ctx, cfg, p); return err }, OpDeposit},
		{"floor pickup", func() (err error) { floor[1], err = f.pickup(ctx, cfg, p); return err }, ""},
		{"service pickup", func() (err error) { svc[1], drain[1], err = s.pickup(ctx, cfg, p); return err }, OpPickup},
		{"floor expiry", func() (err error) { floor[2], err = f.expire(ctx, cfg, p); return err }, ""},
		{"service expiry", func() (err error) {
			svc[2], drain[2], err = s.expire(ctx, cfg, p, poolSize(max(floor[2].OpsPerSec, 50), cfg))
			return err
		}, OpExpiry},
		// Doorstep parcels go out through the use cases, far slower than
		// the bulk seeding of locker parcels, so the floor's pool is sized
		// by its deposit rate rather than a generous bound. A handover is
		// faster than a deposit on SQLite and may run the pool dry before
		// the phase's end; its ops/s stay right, over a shorter phase.
		{"floor doorstep seeding", func() error {
			return f.w.seedDoorstep(ctx, f.svc, poolSize(max(floor[0].OpsPerSec*1.25, 50), cfg), 2*cfg.Concurrency)
		}, ""},
		{"floor doorstep", func() (err error) { floor[3], err = f.doorstep(ctx, cfg, p); return err }, ""},
		{"service doorstep seeding", func() error {
			return s.seedDoorstep(ctx, poolSize(max(floor[3].OpsPerSec*1.25, 50), cfg), 2*cfg.Concurrency)
		}, ""},
		{"service doorstep", func() (err error) { svc[3], drain[3], err = s.doorstep(ctx, cfg, p); return err }, OpDoorstep},
		// Locker-pickup parcels are deposited through the use case too, so
		// each pool is sized by a rate as the doorstep's are: the floor's
		// by its pickups', the service's by the floor's reports'.
		{"floor locker seeding", func() error {
			return f.w.seedLocker(ctx, f.svc, f.store, lockerSitesFor(cfg.Concurrency), poolSize(max(floor[1].OpsPerSec*1.25, 50), cfg),
				2*cfg.Concurrency, func(ctx context.Context, sites []*parcelguard.Site) error { return provisionLockers(ctx, f.svc, sites) })
		}, ""},
		{"floor locker pickup", func() (err error) { floor[4], err = f.lockerPickup(ctx, cfg, p); return err }, ""},
		{"service locker seeding", func() error {
			return s.seedLocker(ctx, lockerSitesFor(cfg.Concurrency), poolSize(max(floor[4].OpsPerSec*1.25, 50), cfg), 2*cfg.Concurrency)
		}, ""},
		{"service locker pickup", func() (err error) { svc[4], drain[4], err = s.lockerPickup(ctx, cfg, p); return err }, OpLockerPickup},
	}
	for _, step := range steps {
		p.setLabel(e.Name + " " + step.name)
		if step.profile == "" {
			if err := step.run(); err != nil {
				return nil, fmt.Errorf("%s: %w", step.name, err)
			}
			continue
		}
		stepProfile, err := profileStep(step.profile, prof, step.run)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", step.name, err)
		}
		profiles[step.profile] = stepProfile
	}
	for i, op := range []string{OpDeposit, OpPickup, OpExpiry, OpDoorstep, OpLockerPickup} {
		r := Result{Engine: e.Name, Op: op, Floor: floor[i], Service: svc[i], OutboxDrainSeconds: drain[i].Seconds(),
			ServiceCPUParts: cpuParts(profiles[op], svc[i].CPUMsPerOp)}
		if floor[i].OpsPerSec > 0 {
			r.Ratio = math.Round(svc[i].OpsPerSec/floor[i].OpsPerSec*1000) / 1000
			if t := svc[i].Seconds + drain[i].Seconds(); t > 0 {
				r.SustainedRatio = math.Round(float64(svc[i].Ops)/t/floor[i].OpsPerSec*1000) / 1000
			}
		}
		res = append(res, r)
	}
	return res, nil
}

// floorRun is the floor of one engine: a store and its parcels, and a
// service over the store that seeds what bulk writes would not get right.
type floorRun struct {
	store      parcelguard.Store
	svc        *service.Service
	close      func() error
	w          *world
	pick, rest []int // deposited parcels kept for pickup and for expiry
	picked     []int
}

func openFloor(ctx context.Context, cfg Config, e Engine) (*floorRun, error) {
	store, closeStore, err := e.Open(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := code.GenerateKeyring()
	if err != nil {
		return nil, errors.Join(err, closeStore())
	}
	svc := service.New(service.Config{Store: store, Clock: parcelguard.SystemClock{}, Keys: keys})
	w, err := newWorld(ctx, svc, store, poolSize(floorRateBound, cfg))
	if err != nil {
		return nil, errors.Join(err, closeStore())
	}
	// The service's sites get locker agents, and its transactions then
	// queue the lockers' commands: the floor's sites get them too.
	if err := provisionLockers(ctx, svc, w.sites); err != nil {
		return nil, errors.Join(err, closeStore())
	}
	return &floorRun{store: store, svc: svc, close: closeStore, w: w}, nil
}

// provisionLockers gives each site a locker agent, as the service's device
// channel does for a new site.
func provisionLockers(ctx context.Context, svc *service.Service, sites []*parcelguard.Site) error {
	for _, site := range sites {
		_, user, err := pgnats.LockerCredentials(site.ID)
		if err == nil {
			_, err = svc.ProvisionLocker(ctx, parcelguard.System, site.ID, user.Name, user.PasswordHash)
		}
		if err != nil {
			return fmt.Errorf("provision locker of %s: %w", site.ID, err)
		}
	}
	return nil
}

func (f *floorRun) update(fn func(context.Context, parcelguard.Tx, *item) error) func(context.Context, int, int) error {
	return func(ctx context.Context, _ int, i int) error {
		it := &f.w.items[i]
		return f.store.Update(ctx, func(tx parcelguard.Tx) error { return fn(ctx, tx, it) })
	}
}

func (f *floorRun) deposit(ctx context.Context, cfg Config, p *progress) (Stats, error) {
	m := startMeter(writerOf(f.store))
	deposited, s, err := measure(ctx, cfg, p, indexes(len(f.w.items)), f.update(floorDeposit))
	f.pick, f.rest = split(deposited)
	return m.stats(s), err
}

func (f *floorRun) pickup(ctx context.Context, cfg Config, p *progress) (s Stats, err error) {
	m := startMeter(writerOf(f.store))
	f.picked, s, err = measure(ctx, cfg, p, f.pick, f.update(floorPickup))
	return m.stats(s), err
}

func (f *floorRun) doorstep(ctx context.Context, cfg Config, p *progress) (Stats, error) {
	m := startMeter(writerOf(f.store))
	_, s, err := measure(ctx, cfg, p, indexes(len(f.w.doorstep)), func(ctx context.Context, _ int, i int) error {
		it := &f.w.doorstep[i]
		return f.store.Update(ctx, func(tx parcelguard.Tx) error { return floorDoorstep(ctx, tx, it) })
	})
	return m.stats(s), err
}

func (f *floorRun) expire(ctx context.Context, cfg Config, p *progress) (Stats, error) {
	m := startMeter(writerOf(f.store))
	_, s, err := measure(ctx, cfg, p, append(f.rest, notIn(f.pick, f.picked)...), f.update(floorExpire))
	return m.stats(s), err
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

// indexes returns 0, 1, ..., n-1: every item of a pool of n.
func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
