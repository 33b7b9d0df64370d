package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard/bench"
)

// minLifecycle is the shortest sustained run worth its setup: a few
// windows of at least a lifecycle each.
const minLifecycle = time.Second

// lifecycleConcurrency is --lifecycle's default number of workers. Each
// spends most of a lifecycle waiting for its two SMS (a dispatcher pass
// or more each), so it takes hundreds of them to keep the service busy:
// parcels/s = workers / lifecycle time.
const lifecycleConcurrency = 512

// lifecycleFlag is --lifecycle: a duration, 0 for off. Its own type so a
// bad value says what is wanted rather than "parse error".
type lifecycleFlag time.Duration

func (f *lifecycleFlag) String() string { return time.Duration(*f).String() }

// Set parses a duration such as 10m or 90s.
func (f *lifecycleFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return errors.New("want a duration such as 10m or 90s, or 0 for off")
	case d < 0:
		return errors.New("must not be negative (0 is off)")
	case d > 0 && d < minLifecycle:
		return fmt.Errorf("a sustained run needs at least %v", minLifecycle)
	}
	*f = lifecycleFlag(d)
	return nil
}

// runLifecycleBench runs the sustained lifecycle on the engines and prints
// its report, also when an invariant failed; the failure is then the
// command's error, so it exits non-zero.
func runLifecycleBench(ctx context.Context, e *env, d time.Duration, concurrency int, engines []bench.Engine, out benchOutput, asJSON bool) error {
	report, err := bench.RunLifecycle(ctx, bench.LifecycleConfig{Engines: engines, Duration: d, Concurrency: concurrency,
		Progress: out.progress, CPUProfile: out.profile})
	if report == nil {
		return err
	}
	var werr error
	if asJSON {
		werr = report.WriteJSON(e.stdout)
	} else {
		werr = report.WriteTable(e.stdout)
	}
	return errors.Join(err, werr)
}
