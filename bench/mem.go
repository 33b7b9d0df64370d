package bench

import (
	"bytes"
	"os"
	"runtime/metrics"
	"strconv"
)

// heapMetric is the Go heap's live and not yet swept objects: what the
// heap holds, read without stopping the world.
const heapMetric = "/memory/classes/heap/objects:bytes"

// heapBytes is the Go heap's size now.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// rssBytes is the process's resident set now, from /proc (0 where there
// is none): what the machine gives the service and the clients, Go heap,
// SQLite's page cache and the embedded NATS server together.
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }
