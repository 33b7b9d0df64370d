package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/parcelguard/parcelguard/sqlite"
)

// OpLifecycle names the sustained run in the CPU profile.
const OpLifecycle = "lifecycle"

// Windows: 10 s each, so a rate that sags for a moment shows; a run too
// short for minWindows of them gets minWindows shorter ones.
const (
	defaultWindow = 10 * time.Second
	minWindows    = 5
)

// Until the workers have started (spread over the first half of the
// warm-up) and each has been through a lifecycle, completions ramp up; a
// warm-up of a tenth of the run (at most maxWarmup) comes before the
// measured run, so its first window measures the service, not the start.
const maxWarmup = 10 * time.Second

// WarmupFor is the warm-up before a measured run of duration d.
func WarmupFor(d time.Duration) time.Duration { return min(d/10, maxWarmup) }

// LifecycleConfig is a sustained lifecycle run: instead of measuring
// operations one at a time, workers take parcels through their whole
// life (announce, reserve, deposit, deposit notice, pickup with the PIN
// from that notice, picked-up notice) over the API of a running service,
// through a warm-up (WarmupFor) and then the measured duration, and the
// run ends with the invariants checked.
type LifecycleConfig struct {
	Engines []Engine
	// Duration is how long the run is measured, after the warm-up.
	Duration time.Duration
	// Concurrency is how many workers run, each with one parcel at a time.
	Concurrency int
	// Window is the reporting window; zero picks WindowFor(Duration).
	Window time.Duration
	// Progress, if set, gets a progress bar (a terminal).
	Progress io.Writer
	// CPUProfile, if set, gets a CPU profile of the first engine's run.
	CPUProfile io.Writer
}

// WindowFor is the reporting window of a run of duration d: 10 s, or d/5
// for runs under 50 s.
func WindowFor(d time.Duration) time.Duration {
	n := max(int64(math.Ceil(float64(d)/float64(defaultWindow))), minWindows)
	return d / time.Duration(n)
}

// RunLifecycle runs the sustained lifecycle on every engine and returns the
// report. If an invariant failed on any engine, it returns the report and
// an error wrapping an *InvariantError per failed engine.
func RunLifecycle(ctx context.Context, cfg LifecycleConfig) (*LifecycleReport, error) {
	switch {
	case cfg.Duration <= 0:
		return nil, errors.New("bench: lifecycle duration must be positive")
	case cfg.Concurrency < 1:
		return nil, errors.New("bench: concurrency must be at least 1")
	case len(cfg.Engines) == 0:
		return nil, errors.New("bench: no engine to measure")
	case cfg.Window < 0:
		return nil, errors.New("bench: window must not be negative")
	}
	if cfg.Window == 0 {
		cfg.Window = WindowFor(cfg.Duration)
	}
	r := &LifecycleReport{DurationSeconds: cfg.Duration.Seconds(), WarmupSeconds: WarmupFor(cfg.Duration).Seconds(),
		WindowSeconds: cfg.Window.Seconds(), Concurrency: cfg.Concurrency, GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version()}
	p := newProgress(cfg.Progress, len(cfg.Engines), WarmupFor(cfg.Duration)+cfg.Duration).counting("parcels")
	defer p.done()
	for _, e := range cfg.Engines {
		res, err := runLifecycleEngine(ctx, cfg, e, p)
		if err != nil {
			return nil, fmt.Errorf("%s lifecycle: %w", e.Name, err)
		}
		r.Results = append(r.Results, *res)
		cfg.CPUProfile = nil // one profile per run: the first engine's
	}
	return r, invariantErrors(r.Results)
}

func runLifecycleEngine(ctx context.Context, cfg LifecycleConfig, e Engine, p *progress) (res *LifecycleResult, err error) {
	p.setLabel(e.Name + ": starting the service")
	s, err := e.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	defer func() { err = errors.Join(err, s.Stop()) }()
	p.setLabel(e.Name + ": seeding the network")
	net, err := newLifeNetwork(ctx, s, cfg.Concurrency)
	if err != nil {
		return nil, err
	}
	defer net.closeIdle()
	if s.Settle != nil {
		if err := s.Settle(ctx); err != nil {
			return nil, fmt.Errorf("settle: %w", err)
		}
	}
	if _, err := drainOutbox(ctx, s.Store); err != nil {
		return nil, err
	}

	label := e.Name + " lifecycle"
	p.setLabel(label)
	run := newLifeRun(net, s.Store, cfg.Concurrency, WarmupFor(cfg.Duration), cfg.Duration, cfg.Window)
	run.writer = s.Writer
	// The run is profiled for its CPU parts whenever the profiler is free;
	// only a profile asked for must be had.
	var pp *phaseProfiler
	if cfg.CPUProfile != nil {
		pp = &phaseProfiler{}
	}
	prof, err := profileStep(OpLifecycle, pp, func() error { return run.run(ctx, p, label) })
	if err != nil {
		return nil, err
	}
	if pp != nil {
		if err := pp.write(cfg.CPUProfile); err != nil {
			return nil, err
		}
	}

	p.setLabel(e.Name + ": draining the outbox")
	drain, err := run.drain(ctx)
	if err != nil {
		return nil, err
	}
	p.setLabel(e.Name + ": checking the invariants")
	checks, skipped, err := checkInvariants(ctx, s.Store, scope{carrierID: net.w.carrier.ID, siteIDs: net.siteIDs(),
		completed: int(run.warm.Load() + run.completed.Load() + run.tail.Load())})
	if err != nil {
		return nil, err
	}
	res = run.result(e.Name)
	res.CPUParts = cpuParts(prof, res.CPUMsPerParcel)
	res.CPUCeiling = cpuCeiling(res, runtime.GOMAXPROCS(0))
	res.DrainSeconds = drain.Seconds()
	res.Invariants, res.SkippedNotices = checks, skipped
	return res, nil
}

// result summarises the run.
func (r *lifeRun) result(engine string) *LifecycleResult {
	res := &LifecycleResult{Engine: engine, Seconds: r.d.Seconds(), Warmup: int(r.warm.Load()), Tail: int(r.tail.Load()), TailSeconds: r.tailTook.Seconds(),
		PeakRSSMB: mb(r.peakRSS.Load()), PeakHeapMB: mb(r.peakHeap.Load())}
	var (
		cpu    time.Duration
		writer sqlite.WriterStats
	)
	rates := make([]float64, 0, len(r.windows))
	for k := range r.windows {
		t := &r.windows[k]
		from := time.Duration(k) * r.window
		w := Window{StartSeconds: from.Seconds(), Seconds: min(r.window, r.d-from).Seconds(), Completed: int(t.completed.Load()),
			OutboxBacklog: t.backlog, DeviceBacklog: t.devices, RSSMB: mb(t.rss), HeapMB: mb(t.heap)}
		w.ParcelsPerSec = float64(w.Completed) / w.Seconds
		if w.Completed > 0 {
			w.CPUMsPerParcel = ms(t.cpu) / float64(w.Completed)
		}
		if r.writer != nil {
			w.WriterBusyPct = 100 * t.writer.Busy.Seconds() / w.Seconds
			writer = writer.Add(t.writer)
		}
		res.Windows = append(res.Windows, w)
		res.Completed += w.Completed
		res.OutboxBacklogMax = max(res.OutboxBacklogMax, w.OutboxBacklog)
		res.OutboxBacklogLast = w.OutboxBacklog
		res.DeviceBacklogMax = max(res.DeviceBacklogMax, w.DeviceBacklog)
		cpu += t.cpu
		rates = append(rates, w.ParcelsPerSec)
	}
	res.ParcelsPerSec = float64(res.Completed) / res.Seconds
	res.WindowMinPerSec, res.WindowMedianPerSec = slices.Min(rates), median(rates)
	if res.Completed > 0 {
		res.CPUMsPerParcel = ms(cpu) / float64(res.Completed)
	}
	if r.writer != nil {
		res.Writer = writerLoad(writer, res.Seconds, res.Completed)
	}
	if n := res.Warmup + res.Completed + res.Tail; n > 0 {
		res.MailboxReadsPerParcel = float64(r.net.recipients.reads.Load()) / float64(n)
	}
	res.Steps = Steps{Announce: r.steps[stepAnnounce].latency(), Reserve: r.steps[stepReserve].latency(),
		Deposit: r.steps[stepDeposit].latency(), DepositNotice: r.steps[stepDepositNotice].latency(),
		Pickup: r.steps[stepPickup].latency(), PickupNotice: r.steps[stepPickupNotice].latency(),
		Lifecycle: r.steps[stepLifecycle].latency()}
	return res
}

// median of xs (sorted in place).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
