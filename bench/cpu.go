package bench

import (
	"syscall"
	"time"

	"github.com/parcelguard/parcelguard/sqlite"
)

// cpuTime is the CPU time (user and system) the process has used so far.
// Per operation it is what the machine's other load barely moves, where
// ops/s on a shared machine follow whatever else runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// meter measures a stretch of a phase: the process's CPU time and, for a
// store with a single writer (SQLite), the writer's work.
type meter struct {
	cpu    time.Duration
	at     time.Time
	writer func() sqlite.WriterStats
	start  sqlite.WriterStats
}

// startMeter starts a stretch; writer may be nil (no single writer).
func startMeter(writer func() sqlite.WriterStats) meter {
	m := meter{cpu: cpuTime(), at: time.Now(), writer: writer}
	if writer != nil {
		m.start = writer()
	}
	return m
}

// stats adds to s the CPU time per operation and the writer's load since
// the stretch started.
func (m meter) stats(s Stats) Stats {
	if s.Ops > 0 {
		s.CPUMsPerOp = ms(cpuTime()-m.cpu) / float64(s.Ops)
	}
	if m.writer != nil {
		s.Writer = writerLoad(m.writer().Sub(m.start), time.Since(m.at).Seconds(), s.Ops)
	}
	return s
}

// writerOf returns the store's writer statistics if it has a single
// writer, else nil.
func writerOf(store any) func() sqlite.WriterStats {
	if w, ok := store.(interface{ WriterStats() sqlite.WriterStats }); ok {
		return w.WriterStats
	}
	return nil
}
