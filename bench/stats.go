package bench

import (
	"math"
	"slices"
	"time"
)

// Stats summarises one measured phase.
type Stats struct {
	// Ops is how many operations completed.
	Ops int `json:"ops"`
	// Seconds is the phase's wall time.
	Seconds float64 `json:"seconds"`
	// OpsPerSec is Ops over Seconds.
	OpsPerSec float64 `json:"ops_per_s"`
	// P50Ms, P95Ms and P99Ms are latency percentiles in milliseconds; zero
	// when the phase has no per-operation latency (the scheduler's expiry).
	P50Ms float64 `json:"p50_ms"`
	P95Ms float64 `json:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
	// CPUMsPerOp is the process's CPU time per operation in milliseconds:
	// for the service, its whole work (HTTP on both ends, the use case, the
	// store, the scheduler and sending the notifications), since the
	// clients run in the same process.
	CPUMsPerOp float64 `json:"cpu_ms_per_op"`
	// Writer is how hard the store's single writer (SQLite's) worked over
	// the same stretch as CPUMsPerOp; per parcel is per operation.
	Writer *WriterLoad `json:"writer,omitempty"`
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value at least p % of the values are
// less than or equal to. It returns 0 for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 || p <= 0 || math.IsNaN(p) {
		return 0
	}
	if p >= 100 {
		return sorted[len(sorted)-1]
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

// summarize turns a phase's latencies (in any order; sorted in place) and
// wall time into Stats.
func summarize(lat []time.Duration, elapsed time.Duration) Stats {
	slices.Sort(lat)
	s := Stats{Ops: len(lat), Seconds: elapsed.Seconds(),
		P50Ms: ms(Percentile(lat, 50)), P95Ms: ms(Percentile(lat, 95)), P99Ms: ms(Percentile(lat, 99))}
	if elapsed > 0 {
		s.OpsPerSec = float64(s.Ops) / elapsed.Seconds()
	}
	return s
}

// throughput is Stats for a phase measured only as a whole.
func throughput(ops int, elapsed time.Duration) Stats {
	s := Stats{Ops: ops, Seconds: elapsed.Seconds()}
	if elapsed > 0 {
		s.OpsPerSec = float64(ops) / elapsed.Seconds()
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
