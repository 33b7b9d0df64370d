package postgres

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff between attempts of an Update: exponential from retryBase,
// capped at retryCap, with full jitter so that the transactions that
// collided do not collide again in lockstep.
const (
	retryBase = 2 * time.Millisecond
	retryCap  = 250 * time.Millisecond
)

// backoff returns how long to wait before retry number attempt+1.
func backoff(attempt int) time.Duration {
	d := retryCap
	if attempt < 16 {
		d = min(retryCap, retryBase<<attempt)
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// sleep waits for d or until ctx is done, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
