package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/parcelguard/parcelguard/bench"
)

// Ensure a short sustained run on SQLite takes parcels through their whole
// life over the API, passes every invariant, and reports numbers that add
// up. Rates are not asserted: the machine decides them.
func TestBenchLifecycleJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the service and runs for seconds")
	}
	cpuProfile := filepath.Join(t.TempDir(), "cpu.pprof")
	out, err := runCLI(t, "bench", "--lifecycle", "3s", "--concurrency", "4", "--engines", "sqlite", "--json", "--cpuprofile", cpuProfile)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	var r bench.LifecycleReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	if r.Concurrency != 4 || r.DurationSeconds != 3 || r.WarmupSeconds != 0.3 || r.WindowSeconds != 0.6 || len(r.Results) != 1 {
		t.Fatalf("report header %+v", r)
	}
	x := r.Results[0]
	if x.Engine != "sqlite" || x.Completed < 1 || x.Seconds != 3 || x.ParcelsPerSec <= 0 {
		t.Errorf("result %+v", x)
	}
	if len(x.Windows) != 5 {
		t.Fatalf("%d windows, want 5", len(x.Windows))
	}
	sum, backlogMax := 0, 0
	for _, w := range x.Windows {
		sum += w.Completed
		backlogMax = max(backlogMax, w.OutboxBacklog)
		if w.Seconds != 0.6 || w.RSSMB <= 0 || w.HeapMB <= 0 || w.OutboxBacklog < 0 {
			t.Errorf("window %+v", w)
		}
	}
	if sum != x.Completed {
		t.Errorf("windows sum to %d parcels, the run completed %d", sum, x.Completed)
	}
	if x.OutboxBacklogMax != backlogMax || x.OutboxBacklogLast != x.Windows[len(x.Windows)-1].OutboxBacklog {
		t.Errorf("backlog max %d, last %d; windows %+v", x.OutboxBacklogMax, x.OutboxBacklogLast, x.Windows)
	}
	if !(x.WindowMinPerSec <= x.WindowMedianPerSec && x.WindowMinPerSec <= x.ParcelsPerSec) {
		t.Errorf("window rates: min %v, median %v, run %v", x.WindowMinPerSec, x.WindowMedianPerSec, x.ParcelsPerSec)
	}
	if x.CPUMsPerParcel <= 0 || x.PeakRSSMB <= 0 || x.PeakHeapMB <= 0 || x.MailboxReadsPerParcel < 2 || x.Tail < 0 || x.DrainSeconds < 0 {
		t.Errorf("resources %+v", x)
	}
	// The CPU time per parcel is split into parts that add up to it, and
	// the ceilings follow. Only the writer, which does about half of the
	// work, must show: on a loaded machine a 3 s run may hold a few dozen
	// samples, and a smaller part can miss them all. The split of each
	// stack is tested in package bench.
	var pct, msSum float64
	named := map[string]bool{}
	for _, p := range x.CPUParts {
		pct, msSum = pct+p.Pct, msSum+p.Ms
		named[p.Part] = p.Pct > 0
	}
	if math.Abs(pct-100) > 1e-6 || math.Abs(msSum-x.CPUMsPerParcel) > 1e-6 || !named[bench.PartWriter] {
		t.Errorf("cpu parts %+v (%v%%, %v ms) of %v ms per parcel", x.CPUParts, pct, msSum, x.CPUMsPerParcel)
	}
	if c := x.CPUCeiling; c == nil || c.WriterPerSec <= c.ProcessPerSec/float64(r.GOMAXPROCS) ||
		math.Abs(c.ProcessPerSec-float64(r.GOMAXPROCS)*1000/x.CPUMsPerParcel) > 1e-6 {
		t.Errorf("cpu ceiling %+v for %v ms per parcel on %d", c, x.CPUMsPerParcel, r.GOMAXPROCS)
	}
	// The same profile is written out, its samples labelled with the run.
	f, err := os.Open(cpuProfile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	prof, err := profile.Parse(f)
	if err != nil {
		t.Fatalf("cpu profile: %v", err)
	}
	if len(prof.Sample) == 0 {
		t.Fatal("the cpu profile holds no samples")
	}
	for _, s := range prof.Sample {
		if got := s.Label["phase"]; len(got) != 1 || got[0] != bench.OpLifecycle {
			t.Fatalf("a sample labelled %v, want phase=%s", s.Label, bench.OpLifecycle)
		}
	}
	// Every parcel a worker finished is in each step, whichever part of
	// the run it finished in.
	all := x.Warmup + x.Completed + x.Tail
	for name, l := range map[string]bench.Latency{"announce": x.Steps.Announce, "reserve": x.Steps.Reserve, "deposit": x.Steps.Deposit,
		"deposit notice": x.Steps.DepositNotice, "pickup": x.Steps.Pickup, "pickup notice": x.Steps.PickupNotice, "lifecycle": x.Steps.Lifecycle} {
		if l.N != all || l.MaxMs <= 0 || !(l.P50Ms <= l.P95Ms && l.P95Ms <= l.P99Ms && l.P99Ms <= l.MaxMs) {
			t.Errorf("%s: %+v, want %d parcels", name, l, all)
		}
	}
	if x.Steps.Lifecycle.P50Ms < x.Steps.Announce.P50Ms {
		t.Errorf("a lifecycle is shorter than its announcement: %+v", x.Steps)
	}
	if len(x.Invariants) != 9 || !x.OK() {
		t.Errorf("invariants %+v", x.Invariants)
	}
	for _, c := range x.Invariants {
		if !c.OK || c.Checked < 1 {
			t.Errorf("invariant %+v", c)
		}
	}
}

// Ensure bad --lifecycle values get a clear error before anything starts.
func TestBenchLifecycleFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--lifecycle", "ten minutes"}, "want a duration such as 10m"},
		{[]string{"--lifecycle", "10"}, "want a duration such as 10m"},
		{[]string{"--lifecycle", "-1m"}, "must not be negative"},
		{[]string{"--lifecycle", "200ms"}, "needs at least 1s"},
		{[]string{"--lifecycle", "1m", "--duration", "5s"}, "give one of the two"},
		{[]string{"--lifecycle", "1m", "--concurrency", "0"}, "--concurrency"},
		{[]string{"--lifecycle", "1m", "--engines", "postgres"}, "--db postgres://"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(context.Background(), append([]string{"bench"}, c.args...), noEnv, io.Discard, &stderr)
			msg := ""
			if err != nil {
				msg = err.Error() + stderr.String()
			}
			if !strings.Contains(msg, c.want) {
				t.Fatalf("err = %v (stderr %q), want one containing %q", err, stderr.String(), c.want)
			}
		})
	}
}
