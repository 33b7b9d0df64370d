package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, c := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value p50", ms(7), 50, 7 * time.Millisecond},
		{"one value p99", ms(7), 99, 7 * time.Millisecond},
		{"two values p50 is the lower", ms(1, 2), 50, time.Millisecond},
		{"two values p51 is the upper", ms(1, 2), 51, 2 * time.Millisecond},
		{"odd count median", ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{"1..100 p50", ms(hundred...), 50, 50 * time.Millisecond},
		{"1..100 p95", ms(hundred...), 95, 95 * time.Millisecond},
		{"1..100 p99", ms(hundred...), 99, 99 * time.Millisecond},
		{"1..100 p99.5 rounds up", ms(hundred...), 99.5, 100 * time.Millisecond},
		{"p100 is the maximum", ms(1, 5, 9), 100, 9 * time.Millisecond},
		{"above 100 is the maximum", ms(1, 5, 9), 150, 9 * time.Millisecond},
		{"tiny p is the minimum", ms(1, 5, 9), 0.001, time.Millisecond},
		{"zero p", ms(1, 5, 9), 0, 0},
		{"ten values p95 is the last", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 95, 10 * time.Millisecond},
		{"ten values p90", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Percentile(c.sorted, c.p); got != c.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", c.sorted, c.p, got, c.want)
			}
		})
	}
}

// TestPercentileProperties checks on random samples that a percentile is
// one of the values, at least p % of the values are <= it, and it grows
// with p.
func TestPercentileProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		n := 1 + r.IntN(300)
		vs := make([]time.Duration, n)
		for i := range vs {
			vs[i] = time.Duration(r.IntN(1000))
		}
		slices.Sort(vs)
		prev := time.Duration(-1)
		for _, p := range []float64{1, 10, 50, 90, 95, 99, 99.9, 100} {
			got := Percentile(vs, p)
			if !slices.Contains(vs, got) {
				t.Fatalf("p%v = %v is not a sample", p, got)
			}
			atMost := 0
			for _, v := range vs {
				if v <= got {
					atMost++
				}
			}
			if float64(atMost) < p/100*float64(n) {
				t.Fatalf("p%v = %v: only %d of %d values <= it", p, got, atMost, n)
			}
			if got < prev {
				t.Fatalf("p%v = %v below a lower percentile's %v", p, got, prev)
			}
			prev = got
		}
	}
}

func TestSummarize(t *testing.T) {
	lat := []time.Duration{4 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}
	s := summarize(lat, 2*time.Second)
	if s.Ops != 4 || s.OpsPerSec != 2 || s.Seconds != 2 {
		t.Errorf("ops %d, ops/s %v, seconds %v; want 4, 2, 2", s.Ops, s.OpsPerSec, s.Seconds)
	}
	if s.P50Ms != 2 || s.P95Ms != 4 || s.P99Ms != 4 {
		t.Errorf("p50/p95/p99 = %v/%v/%v ms, want 2/4/4", s.P50Ms, s.P95Ms, s.P99Ms)
	}
	if z := summarize(nil, 0); z.OpsPerSec != 0 || z.P99Ms != 0 {
		t.Errorf("empty phase: %+v", z)
	}
}
