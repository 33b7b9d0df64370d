package bench

import (
	"math"
	"sync/atomic"
	"time"
)

// A sustained run records millions of latencies per step; keeping them
// all would grow the bench's own heap in the very process it measures. A
// histogram with buckets 1 % apart keeps a step in a few kilobytes and
// still gives percentiles to within 1 %.
const (
	histMin    = time.Microsecond
	histGrowth = 1.01
	// histBuckets reaches past an hour: histMin·1.01^2200.
	histBuckets = 2200
)

var histLogGrowth = math.Log(histGrowth)

// histogram counts latencies in logarithmic buckets. Workers share one
// per step: adding is a few atomic operations, and its size does not
// grow with the workers or the run.
type histogram struct {
	counts [histBuckets]atomic.Int64
	n      atomic.Int64
	max    atomic.Int64 // nanoseconds
}

func bucketOf(d time.Duration) int {
	if d <= histMin {
		return 0
	}
	b := int(math.Log(float64(d)/float64(histMin))/histLogGrowth) + 1
	return min(b, histBuckets-1)
}

// bucketValue is a bucket's representative latency: the geometric middle
// of its bounds.
func bucketValue(b int) time.Duration {
	if b == 0 {
		return histMin
	}
	return time.Duration(float64(histMin) * math.Pow(histGrowth, float64(b)-0.5))
}

func (h *histogram) add(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(d)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// percentile is the p-th percentile by the nearest-rank method, as
// Percentile computes it on the exact values, to within a bucket; the
// 100th is the exact maximum.
func (h *histogram) percentile(p float64) time.Duration {
	n, top := h.n.Load(), time.Duration(h.max.Load())
	if n == 0 || p <= 0 || math.IsNaN(p) {
		return 0
	}
	if p >= 100 {
		return top
	}
	rank := max(int64(math.Ceil(p/100*float64(n))), 1)
	var seen int64
	for b := range h.counts {
		seen += h.counts[b].Load()
		if seen >= rank {
			return min(bucketValue(b), top)
		}
	}
	return top
}

// latency summarises h.
func (h *histogram) latency() Latency {
	return Latency{N: int(h.n.Load()), P50Ms: ms(h.percentile(50)), P95Ms: ms(h.percentile(95)), P99Ms: ms(h.percentile(99)),
		MaxMs: ms(time.Duration(h.max.Load()))}
}
