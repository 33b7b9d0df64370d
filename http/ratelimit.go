package http

import (
	"context"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/time/rate"
)

// RateLimit is a token bucket: Rate requests per second sustained, Burst
// at once. The zero value means "the default"; a Rate of rate.Inf turns
// the limit off.
type RateLimit struct {
	Rate  rate.Limit
	Burst int
}

// Default rate limits. They are far above what one integration or kiosk
// needs and exist to stop runaway loops and floods; the limits that protect
// codes are the locker guards in the store (SECURITY.md 8), which every
// instance shares. These buckets are per process.
var (
	DefaultKeyLimit     = RateLimit{Rate: 50, Burst: 100}
	DefaultAddressLimit = RateLimit{Rate: 100, Burst: 200}
)

// sweepEvery is how often idle buckets are dropped.
const sweepEvery = time.Minute

// limiter holds one token bucket per key (an API key prefix, a client
// address). Buckets idle long enough to have refilled are dropped, since a
// new bucket is the same as a full one; so memory follows the callers of
// the last minutes, not of all time.
type limiter struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(cfg, def RateLimit) *limiter {
	if cfg.Rate == 0 && cfg.Burst == 0 {
		cfg = def
	}
	if cfg.Burst < 1 {
		cfg.Burst = 1
	}
	return &limiter{limit: cfg.Rate, burst: cfg.Burst, buckets: map[string]*bucket{}}
}

// take spends one token of key's bucket at now. It returns zero when the
// request may go ahead, else how long until a token is available.
func (l *limiter) take(key string, now time.Time) time.Duration {
	if l.limit == rate.Inf {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return time.Second // a zero rate: nothing ever passes
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // a refused request spends nothing
		return d
	}
	return 0
}

// sweep drops buckets idle for longer than a refill takes. The caller
// holds l.mu.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < sweepEvery {
		return
	}
	l.lastSweep = now
	idle := sweepEvery
	if l.limit > 0 {
		idle = max(idle, time.Duration(float64(l.burst)/float64(l.limit)*float64(time.Second)))
	}
	for k, b := range l.buckets {
		if now.Sub(b.seen) > idle {
			delete(l.buckets, k)
		}
	}
}

// rateLimited is the 429 of a spent bucket.
func rateLimited(wait time.Duration) *Problem {
	p := newProblem(codeRateLimited, "rate limit exceeded; retry after the number of seconds in Retry-After")
	p.setHeader("Retry-After", retryAfterSeconds(wait))
	return p
}

// limitCaller is huma middleware that spends the authenticated caller's
// budget: its API key's, or its recipient link's parcel's.
func (s *Server) limitCaller(ctx huma.Context, next func(huma.Context)) {
	if scope := scopeFrom(ctx.Context()); scope != "" {
		if wait := s.keyLimit.take(scope, s.clock.Now()); wait > 0 {
			writeHumaProblem(ctx, rateLimited(wait))
			return
		}
	}
	next(ctx)
}

type scopeKey struct{}

// scopeFrom returns the authenticated caller's scope: "key:<prefix>" for an
// API key, "rcp:<parcel id>" for a recipient link, "" for nobody. Rate
// limits and Idempotency-Keys are kept per scope.
func scopeFrom(ctx context.Context) string {
	s, _ := ctx.Value(scopeKey{}).(string)
	return s
}
