package web

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in attempts per client address: a burst of 10, then one every 6 s.
// The store keeps a per-account failure budget on top (service.SignIn);
// this in-memory bucket only slows down one address spraying many names.
const (
	signinRate  = rate.Limit(1.0 / 6)
	signinBurst = 10
	// maxLimiters bounds the memory one flood of addresses can take.
	maxLimiters = 10000
)

// addressLimiter is a token bucket per client address.
type addressLimiter struct {
	mu    sync.Mutex
	r     rate.Limit
	burst int
	m     map[string]*rate.Limiter
}

func newAddressLimiter(r rate.Limit, burst int) *addressLimiter {
	return &addressLimiter{r: r, burst: burst, m: map[string]*rate.Limiter{}}
}

// allow spends one token of addr's bucket at now.
func (l *addressLimiter) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m[addr]
	if !ok {
		if len(l.m) >= maxLimiters {
			clear(l.m) // forget everyone rather than grow without bound
		}
		lim = rate.NewLimiter(l.r, l.burst)
		l.m[addr] = lim
	}
	return lim.AllowN(now, 1)
}
