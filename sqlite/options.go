package sqlite

import (
	"runtime"
	"time"
)

// config holds what Options tune.
type config struct {
	readers     int
	busyTimeout time.Duration
	maxBatch    int
}

func defaultConfig() config {
	return config{
		readers:     max(4, runtime.GOMAXPROCS(0)),
		busyTimeout: 5 * time.Second,
		maxBatch:    128,
	}
}

// Option tunes Open.
type Option func(*config)

// WithReaders sets how many read-only connections serve View (default: the
// larger of 4 and GOMAXPROCS).
func WithReaders(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.readers = n
		}
	}
}

// WithBusyTimeout sets how long a connection waits for a lock held by another
// process before failing with SQLITE_BUSY (default 5s). Within one process
// the single writer never waits on itself.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.busyTimeout = d
		}
	}
}

// WithMaxBatch caps how many Updates share one commit (default 128). Larger
// batches amortise the fsync further but make a commit failure hit more
// callers and delay the first caller of a batch longer.
func WithMaxBatch(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxBatch = n
		}
	}
}
