package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/sqlite"
)

// memoryEvery is how often the run samples the process's memory for its
// peaks.
const memoryEvery = 250 * time.Millisecond

// lifeRun is one engine's sustained run.
type lifeRun struct {
	net     *lifeNetwork
	store   parcelguard.Store
	workers int
	warmup  time.Duration
	d       time.Duration
	window  time.Duration

	// began is when the workers started, start when the measured run
	// did, after the warm-up, and stopAt when it ended.
	began, start, stopAt time.Time
	seq                  atomic.Int64 // parcels started
	steps                [stepCount]histogram
	windows              []windowTally
	// completed counts the parcels completed within the run (the progress
	// bar's), warm and tail those completed before and after it.
	completed, warm, tail atomic.Int64
	tailTook              time.Duration
	peakRSS               atomic.Uint64
	peakHeap              atomic.Uint64
	// writer, if set, reads the store's single writer's work.
	writer func() sqlite.WriterStats
}

// windowTally is one window as it is measured: the workers count
// completions, the sampler fills in the rest at the window's end.
type windowTally struct {
	completed atomic.Int64
	cpu       time.Duration
	backlog   int
	devices   int // device commands pending
	rss, heap uint64
	writer    sqlite.WriterStats // the store writer's work in the window
}

func newLifeRun(net *lifeNetwork, store parcelguard.Store, workers int, warmup, d, window time.Duration) *lifeRun {
	n := int((d + window - 1) / window)
	return &lifeRun{net: net, store: store, workers: workers, warmup: warmup, d: d, window: window,
		windows: make([]windowTally, n)}
}

// run runs the workers through the warm-up and the duration, then lets
// them finish the parcels under way. The first failure stops everything:
// a lifecycle that breaks measures nothing.
func (r *lifeRun) run(ctx context.Context, p *progress, label string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.began = time.Now()
	r.start = r.began.Add(r.warmup)
	r.stopAt = r.start.Add(r.d)
	p.startPhase(r.warmup+r.d, &r.completed)
	sampled := make(chan error, 1)
	go func() { sampled <- r.sample(ctx) }()
	var wg sync.WaitGroup
	for w := range r.workers {
		wg.Go(func() {
			// Started all at once, the workers would move in step, and
			// the dispatcher's passes would keep them so: spread them
			// over the first part of the warm-up.
			if !sleepUntil(ctx, r.began.Add(time.Duration(w)*r.warmup/2/time.Duration(r.workers))) {
				return
			}
			site := r.net.siteOf(w)
			for ctx.Err() == nil && time.Now().Before(r.stopAt) {
				n := r.seq.Add(1)
				at, err := r.parcel(ctx, n, site)
				if err != nil {
					cancel(fmt.Errorf("parcel %d: %w", n, err))
					return
				}
				r.count(at)
			}
		})
	}
	if err := <-sampled; err != nil {
		cancel(fmt.Errorf("sample: %w", err))
	}
	p.endPhase()
	p.setLabel(label + ": finishing the parcels under way")
	wg.Wait()
	r.tailTook = max(time.Since(r.stopAt), 0)
	return context.Cause(ctx)
}

// count files a parcel under the window its picked-up SMS was sent in,
// or under the warm-up or the tail.
func (r *lifeRun) count(at time.Time) {
	switch {
	case at.Before(r.start):
		r.warm.Add(1)
		return
	case !at.Before(r.stopAt):
		r.tail.Add(1)
		return
	}
	k := min(int(at.Sub(r.start)/r.window), len(r.windows)-1)
	r.windows[k].completed.Add(1)
	r.completed.Add(1)
}

// sample records each window's CPU time, outbox backlog and memory at its
// end, and the memory's peaks in between, from the warm-up's end until
// the run's.
func (r *lifeRun) sample(ctx context.Context) error {
	t := time.NewTicker(memoryEvery)
	defer t.Stop()
	sleep := func(until time.Time, peaks bool) bool {
		for wait := time.Until(until); wait > 0; wait = time.Until(until) {
			select {
			case <-ctx.Done():
				return false
			case <-t.C:
				if peaks {
					r.notePeaks(rssBytes(), heapBytes())
				}
			case <-time.After(wait):
			}
		}
		return true
	}
	if !sleep(r.start, false) {
		return nil
	}
	cpu := cpuTime()
	var writer sqlite.WriterStats
	if r.writer != nil {
		writer = r.writer()
	}
	for k := range r.windows {
		if !sleep(r.start.Add(min(time.Duration(k+1)*r.window, r.d)), true) {
			return nil
		}
		now := cpuTime()
		w := &r.windows[k]
		w.cpu, cpu = now-cpu, now
		if r.writer != nil {
			now := r.writer()
			w.writer, writer = now.Sub(writer), now
		}
		w.rss, w.heap = rssBytes(), heapBytes()
		r.notePeaks(w.rss, w.heap)
		var err error
		if w.backlog, err = outboxBacklog(ctx, r.store); err != nil && ctx.Err() == nil {
			return fmt.Errorf("outbox backlog: %w", err)
		}
		if w.devices, err = deviceBacklog(ctx, r.store); err != nil && ctx.Err() == nil {
			return fmt.Errorf("device backlog: %w", err)
		}
	}
	return nil
}

func (r *lifeRun) notePeaks(rss, heap uint64) {
	for _, x := range []struct {
		peak *atomic.Uint64
		v    uint64
	}{{&r.peakRSS, rss}, {&r.peakHeap, heap}} {
		for {
			old := x.peak.Load()
			if x.v <= old || x.peak.CompareAndSwap(old, x.v) {
				break
			}
		}
	}
}

// drain waits until neither the outbox nor the device outbox has a
// pending message and returns how long that took.
func (r *lifeRun) drain(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	for {
		n, err := outboxBacklog(ctx, r.store)
		if err != nil {
			return 0, fmt.Errorf("outbox: %w", err)
		}
		devices, err := deviceBacklog(ctx, r.store)
		if err != nil {
			return 0, fmt.Errorf("device outbox: %w", err)
		}
		if n+devices == 0 {
			return time.Since(start), nil
		}
		if !sleepUntil(ctx, time.Now().Add(pollEvery)) {
			return 0, ctx.Err()
		}
	}
}

// sleepUntil sleeps until t and reports whether ctx is still live.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
