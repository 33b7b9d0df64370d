package bench

import (
	"syscall"
	"time"
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

// withCPU adds the CPU time per operation to s.
func withCPU(s Stats, cpu time.Duration) Stats {
	if s.Ops > 0 {
		s.CPUMsPerOp = ms(cpu) / float64(s.Ops)
	}
	return s
}
