package bench

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/google/pprof/profile"
)

// The parts of the process that the CPU time of a sustained run or a
// service phase is split into.
const (
	// PartWriter is SQLite's single writer: every write transaction.
	PartWriter = "sqlite writer"
	// PartAPI is the HTTP server: routing, authentication, JSON, reads.
	PartAPI = "API"
	// PartClients is the bench's own HTTP clients and bookkeeping.
	PartClients = "bench clients"
	// PartScheduler is the scheduler firing due timers (expiry, reminders).
	PartScheduler = "scheduler"
	// PartNotify is the outbox: rendering and delivering messages.
	PartNotify = "notifications"
	// PartDevices is the device outbox and NATS, client and server.
	PartDevices = "lockers"
	// PartGC is the garbage collector's background work.
	PartGC = "garbage collector"
	// PartOther is what no rule names: the runtime, timers of the HTTP
	// server, the outage sweep.
	PartOther = "other"
)

// cpuSampleType is the CPU profile's sample value that holds CPU time.
const cpuSampleType = "cpu"

// cpuPartRules name the part a profile sample belongs to by the functions
// on its stack: the first rule with a frame containing one of its
// patterns wins. Each part is a set of goroutines, found by what they
// start in, so the order matters only where one goroutine calls into
// another part's code: an API handler that reads the mailbox (notify) is
// the API's, and the writer runs every transaction of the service, so
// each transaction's SQL is the writer's, not its caller's.
var cpuPartRules = []struct {
	part     string
	patterns []string
}{
	{PartWriter, []string{"/sqlite.(*DB).writeLoop"}},
	{PartAPI, []string{"net/http.(*conn).serve", "net/http.(*connReader).backgroundRead"}},
	{PartClients, []string{"/parcelguard/bench.", "net/http.(*persistConn)"}},
	{PartScheduler, []string{"/parcelguard/service.(*Service).RunScheduler"}},
	{PartNotify, []string{"/parcelguard/notify."}},
	{PartDevices, []string{".RunDeviceDispatcher", "/parcelguard/nats.", "github.com/nats-io/"}},
	{PartGC, []string{"runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge"}},
}

// CPUPart is one part's share of the process's CPU time over a sustained
// run or a service phase, from a CPU profile taken through it.
type CPUPart struct {
	Part string  `json:"part"`
	Pct  float64 `json:"pct"`
	// Ms is Pct of the CPU time per unit of work: per parcel in a
	// sustained run, per operation in a phase.
	Ms float64 `json:"ms"`
}

// CPUCeiling is the rate the run's CPU time per parcel would allow if CPU
// were all that limited it: what the machine could give at best, however
// the work were scheduled.
type CPUCeiling struct {
	// WriterPerSec is 1,000 ms over the writer's CPU time per parcel: the
	// writer is one goroutine, so one core at most runs it.
	WriterPerSec float64 `json:"writer_per_s,omitempty"`
	// ProcessPerSec is GOMAXPROCS × 1,000 ms over the process's CPU time
	// per parcel.
	ProcessPerSec float64 `json:"process_per_s"`
}

// cpuPartOf names the part the sample with these function names is in.
func cpuPartOf(funcs []string) string {
	for _, r := range cpuPartRules {
		for _, f := range funcs {
			for _, pat := range r.patterns {
				if strings.Contains(f, pat) {
					return r.part
				}
			}
		}
	}
	return PartOther
}

// cpuParts splits msPer, the CPU time per parcel or operation, into parts
// by their shares of p's samples, largest first, with PartOther last. A
// lifecycle's profile spans the warm-up and the tail as well as the run,
// a phase's the outbox's drain after it; the shares are taken to be the
// same. A nil or empty profile gives no parts.
func cpuParts(p *profile.Profile, msPer float64) []CPUPart {
	if p == nil {
		return nil
	}
	col := -1
	for i, st := range p.SampleType {
		if st.Type == cpuSampleType {
			col = i
		}
	}
	if col < 0 {
		return nil
	}
	byPart := map[string]int64{}
	var total int64
	var funcs []string
	for _, s := range p.Sample {
		funcs = funcs[:0]
		for _, loc := range s.Location {
			for _, line := range loc.Line {
				if line.Function != nil {
					funcs = append(funcs, line.Function.Name)
				}
			}
		}
		v := s.Value[col]
		byPart[cpuPartOf(funcs)] += v
		total += v
	}
	if total == 0 {
		return nil
	}
	var parts []CPUPart
	for _, name := range append(partNames(), PartOther) {
		v, ok := byPart[name]
		if !ok {
			continue
		}
		share := float64(v) / float64(total)
		parts = append(parts, CPUPart{Part: name, Pct: 100 * share, Ms: share * msPer})
	}
	sortParts(parts)
	return parts
}

// partNames are the named parts in rule order.
func partNames() []string {
	names := make([]string, len(cpuPartRules))
	for i, r := range cpuPartRules {
		names[i] = r.part
	}
	return names
}

// sortParts orders parts by share, largest first, keeping PartOther last
// whatever its share: it is what the rules did not name.
func sortParts(parts []CPUPart) {
	rank := func(p CPUPart) float64 {
		if p.Part == PartOther {
			return -1
		}
		return p.Pct
	}
	slices.SortStableFunc(parts, func(a, b CPUPart) int { return cmp.Compare(rank(b), rank(a)) })
}

// formatParts writes parts on one line: each part's time and share.
func formatParts(parts []CPUPart) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = fmt.Sprintf("%s %.2f (%.0f%%)", p.Part, p.Ms, p.Pct)
	}
	return strings.Join(out, ", ")
}

// cpuCeiling is what x's CPU time per parcel, split into parts, allows on
// procs processors.
func cpuCeiling(x *LifecycleResult, procs int) *CPUCeiling {
	if x.CPUMsPerParcel <= 0 || len(x.CPUParts) == 0 {
		return nil
	}
	c := &CPUCeiling{ProcessPerSec: float64(procs) * 1000 / x.CPUMsPerParcel}
	for _, p := range x.CPUParts {
		if p.Part == PartWriter && p.Ms > 0 {
			c.WriterPerSec = 1000 / p.Ms
		}
	}
	return c
}
