package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// phase runs op over items 0..n-1 from workers goroutines until every item
// is done or the duration has passed, and returns each completed op's
// latency and the phase's wall time. The first error stops the phase: a
// benchmark whose operations fail measures nothing.
func phase(ctx context.Context, workers, n int, d time.Duration, progress *progress,
	op func(ctx context.Context, worker, item int) error) ([]time.Duration, time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next    atomic.Int64
		done    atomic.Int64
		mu      sync.Mutex
		all     []time.Duration
		wg      sync.WaitGroup
		start   = time.Now()
		stopAt  = start.Add(d)
		lastEnd atomic.Int64 // nanoseconds after start of the last completion
	)
	progress.startPhase(d, &done)
	for w := range workers {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1024)
			defer func() {
				mu.Lock()
				all = append(all, lat...)
				mu.Unlock()
			}()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n || time.Now().After(stopAt) {
					return
				}
				t0 := time.Now()
				if err := op(ctx, w, i); err != nil {
					cancel(fmt.Errorf("item %d: %w", i, err))
					return
				}
				end := time.Now()
				lat = append(lat, end.Sub(t0))
				done.Add(1)
				for {
					prev := lastEnd.Load()
					e := int64(end.Sub(start))
					if e <= prev || lastEnd.CompareAndSwap(prev, e) {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	progress.endPhase()
	if err := context.Cause(ctx); err != nil {
		return nil, 0, err
	}
	return all, time.Duration(lastEnd.Load()), nil
}
