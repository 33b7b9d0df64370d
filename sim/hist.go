package sim

import (
	"math"
	"sync"
	"time"
)

// hist is a log-linear latency histogram: 16 sub-buckets per power of two
// from 1 µs, so any quantile is within about 4 % of the true value, in a
// few kilobytes however many samples it holds.
type hist struct {
	mu     sync.Mutex
	counts [64 * histSub]uint64
	n      uint64
	sum    float64
	max    time.Duration
}

const histSub = 16

func histBucket(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us < 1 {
		return 0
	}
	e := math.Floor(math.Log2(us))
	frac := us/math.Exp2(e) - 1 // in [0, 1)
	b := int(e)*histSub + int(frac*histSub)
	return min(b, len(hist{}.counts)-1)
}

// histValue is the upper edge of bucket b.
func histValue(b int) time.Duration {
	e, s := b/histSub, b%histSub
	us := math.Exp2(float64(e)) * (1 + float64(s+1)/histSub)
	return time.Duration(us * float64(time.Microsecond))
}

func (h *hist) add(d time.Duration) {
	b := histBucket(d)
	h.mu.Lock()
	h.counts[b]++
	h.n++
	h.sum += float64(d)
	h.max = max(h.max, d)
	h.mu.Unlock()
}

// quantile returns the q-quantile (0 < q <= 1), never above the maximum.
func (h *hist) quantile(q float64) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(histValue(b), h.max)
		}
	}
	return h.max
}

// Percentiles summarises a latency distribution.
type Percentiles struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// percentiles reports h in the given unit (such as time.Millisecond).
func (h *hist) percentiles(unit time.Duration) Percentiles {
	u := float64(unit)
	p := Percentiles{P50: float64(h.quantile(0.50)) / u, P95: float64(h.quantile(0.95)) / u, P99: float64(h.quantile(0.99)) / u}
	h.mu.Lock()
	defer h.mu.Unlock()
	p.Count, p.Max = h.n, float64(h.max)/u
	if h.n > 0 {
		p.Mean = h.sum / float64(h.n) / u
	}
	return p
}
