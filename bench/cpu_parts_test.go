package bench

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// Ensure each goroutine of the lifecycle's process lands in its part, by
// stacks as the CPU profiler records them (root last), including where a
// goroutine calls into another part's code.
func TestCPUPartOf(t *testing.T) {
	const pg = "github.com/parcelguard/parcelguard/"
	for _, c := range []struct {
		name  string
		stack []string
		want  string
	}{
		{"a transaction's SQL", []string{"modernc.org/sqlite/lib._sqlite3VdbeExec", pg + "service.(*Service).Deposit.func1",
			pg + "sqlite.call", pg + "sqlite.(*DB).runOne", pg + "sqlite.(*DB).runBatch", pg + "sqlite.(*DB).writeLoop"}, PartWriter},
		{"a commit", []string{"syscall.Syscall6", pg + "sqlite.(*stmtCache).ExecContext", pg + "sqlite.(*DB).runBatch",
			pg + "sqlite.(*DB).writeLoop"}, PartWriter},
		{"a handler", []string{"encoding/json.Marshal", pg + "http.(*Server).route", "net/http.serverHandler.ServeHTTP",
			"net/http.(*conn).serve"}, PartAPI},
		{"a mailbox read", []string{pg + "notify.(*Mailbox).List", pg + "http.(*Server).route", "net/http.(*conn).serve"}, PartAPI},
		{"a request's body read", []string{"net.(*conn).Read", "net/http.(*connReader).backgroundRead"}, PartAPI},
		{"a worker", []string{"net/http.(*Client).Do", pg + "client.(*Client).do", pg + "bench.(*lifeRun).parcel",
			"sync.(*WaitGroup).Go.func1"}, PartClients},
		{"a client connection", []string{"bufio.(*Writer).Flush", "net/http.(*persistConn).writeLoop"}, PartClients},
		{"the outbox", []string{"qr.PNG", pg + "notify.(*renderer).render", pg + "notify.(*Dispatcher).handle",
			"sync.(*WaitGroup).Go.func1"}, PartNotify},
		{"the device outbox", []string{pg + "service.(*Service).RunDeviceDispatcher", "main.startDevices.func3"}, PartDevices},
		{"a device consumer", []string{pg + "nats.consume.func1", "github.com/nats-io/nats.go/jetstream.(*pullConsumer).Consume.func1"}, PartDevices},
		{"the NATS server", []string{"github.com/nats-io/nats-server/v2/server.(*client).readLoop"}, PartDevices},
		{"the collector", []string{"runtime.scanObject", "runtime.gcBgMarkWorker"}, PartGC},
		{"the sweeper", []string{"runtime.sweepone", "runtime.bgsweep"}, PartGC},
		{"the scheduler", []string{pg + "service.(*Service).FireDueTimers", pg + "service.(*Service).RunScheduler",
			"main.startApp.func2"}, PartScheduler},
		{"a fired timer's transaction", []string{pg + "service.(*Service).FireDueTimers.func1", pg + "sqlite.(*DB).runBatch",
			pg + "sqlite.(*DB).writeLoop"}, PartWriter},
		{"the outage sweep", []string{pg + "service.(*Service).RunOutageSweep"}, PartOther},
		{"the runtime", []string{"runtime.schedule", "runtime.park_m", "runtime.mcall"}, PartOther},
		{"an empty stack", nil, PartOther},
	} {
		if got := cpuPartOf(c.stack); got != c.want {
			t.Errorf("%s: part %q, want %q", c.name, got, c.want)
		}
	}
}

// cpuProfile builds a CPU profile with one sample per stack, of cpu
// nanoseconds each.
func cpuProfile(samples map[string]int64) *profile.Profile {
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}}}
	for name, ns := range samples {
		fn := &profile.Function{ID: uint64(len(p.Function) + 1), Name: name}
		loc := &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: fn}}}
		p.Function, p.Location = append(p.Function, fn), append(p.Location, loc)
		p.Sample = append(p.Sample, &profile.Sample{Location: []*profile.Location{loc}, Value: []int64{ns / 1e7, ns}})
	}
	return p
}

// Ensure the parts split the CPU time per parcel by their shares of the
// profile, largest first and the unnamed rest last, and the ceilings
// follow from them.
func TestCPUParts(t *testing.T) {
	p := cpuProfile(map[string]int64{
		"github.com/parcelguard/parcelguard/sqlite.(*DB).writeLoop": 500e6,
		"net/http.(*conn).serve":                                    250e6,
		"runtime.mcall":                                             150e6,
		"runtime.gcBgMarkWorker":                                    100e6,
	})
	parts := cpuParts(p, 4)
	want := []CPUPart{{PartWriter, 50, 2}, {PartAPI, 25, 1}, {PartGC, 10, 0.4}, {PartOther, 15, 0.6}}
	if len(parts) != len(want) {
		t.Fatalf("parts %+v, want %+v", parts, want)
	}
	for i := range want {
		if parts[i].Part != want[i].Part || math.Abs(parts[i].Pct-want[i].Pct) > 1e-9 ||
			math.Abs(parts[i].Ms-want[i].Ms) > 1e-9 {
			t.Errorf("part %d: %+v, want %+v", i, parts[i], want[i])
		}
	}
	x := &LifecycleResult{CPUMsPerParcel: 4, CPUParts: parts}
	if c := cpuCeiling(x, 2); c == nil || c.WriterPerSec != 500 || c.ProcessPerSec != 500 {
		t.Errorf("ceiling %+v, want 500/s for the writer (2 ms on one core) and 500/s for the whole (4 ms on two)", c)
	}
	x.CPUParts = slices.DeleteFunc(slices.Clone(parts), func(p CPUPart) bool { return p.Part == PartWriter })
	if c := cpuCeiling(x, 4); c == nil || c.WriterPerSec != 0 || c.ProcessPerSec != 1000 {
		t.Errorf("ceiling without a writer (PostgreSQL) %+v, want none for the writer, 1000/s for the whole", c)
	}

	for name, p := range map[string]*profile.Profile{
		"no profile":    nil,
		"no samples":    cpuProfile(nil),
		"no cpu values": {SampleType: []*profile.ValueType{{Type: "alloc_space", Unit: "bytes"}}},
	} {
		if parts := cpuParts(p, 4); parts != nil {
			t.Errorf("%s: parts %+v, want none", name, parts)
		}
	}
	if c := cpuCeiling(&LifecycleResult{CPUMsPerParcel: 4}, 2); c != nil {
		t.Errorf("ceiling without parts %+v, want none", c)
	}
}

// Ensure a profiled step's profile comes back and, when one was asked for,
// is kept with its samples labelled; and that a profile asked for but not
// to be had (the process's one profiler is taken) is an error before the
// step runs, while one not asked for lets the step run unprofiled.
func TestProfileStep(t *testing.T) {
	var pp phaseProfiler
	p, err := profileStep(OpDeposit, &pp, func() error {
		// 200 ms of CPU: some 20 samples at the profiler's 100 Hz.
		for from := cpuTime(); cpuTime()-from < 200*time.Millisecond; {
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p == nil || len(p.Sample) == 0 || len(pp.parts) != 1 {
		t.Fatalf("profile %v, %d kept; want one with samples, kept", p, len(pp.parts))
	}
	for _, s := range pp.parts[0].Sample {
		if got := s.Label["phase"]; len(got) != 1 || got[0] != OpDeposit {
			t.Fatalf("a kept sample labelled %v", s.Label)
		}
	}
	if parts := cpuParts(p, 1); len(parts) == 0 {
		t.Error("no cpu parts from the step's profile")
	}

	stop, err := startProfile()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ran := false
	if _, err := profileStep(OpPickup, &pp, func() error { ran = true; return nil }); !errors.Is(err, errProfilerTaken) || ran {
		t.Errorf("asked for, with the profiler taken: %v, ran %v; want errProfilerTaken before running", err, ran)
	}
	if p, err := profileStep(OpPickup, nil, func() error { ran = true; return nil }); err != nil || p != nil || !ran {
		t.Errorf("not asked for, with the profiler taken: %v, %v, ran %v; want the step run unprofiled", p, err, ran)
	}
}
