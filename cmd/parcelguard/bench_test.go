package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard/bench"
	"github.com/parcelguard/parcelguard/internal/pgtest"
)

// Ensure the bench runs end to end on both engines in a tiny run and its
// JSON report holds every operation of every engine with sane numbers.
func TestBenchJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the service twice per engine")
	}
	out, err := runCLI(t, "bench", "--duration", "300ms", "--concurrency", "4", "--json", "--db", pgtest.URL(t))
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	var r bench.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	if r.Concurrency != 4 || r.DurationSeconds != 0.3 || r.GOMAXPROCS < 1 {
		t.Errorf("report header %+v", r)
	}
	seen := map[string]bool{}
	for _, x := range r.Results {
		seen[x.Engine+"/"+x.Op] = true
		for name, s := range map[string]bench.Stats{"floor": x.Floor, "service": x.Service} {
			if s.Ops < 1 || s.OpsPerSec <= 0 || s.Seconds <= 0 {
				t.Errorf("%s %s %s: %+v", x.Engine, x.Op, name, s)
			}
			// The service's expiry is the scheduler's: no per-operation latency.
			if name == "service" && x.Op == bench.OpExpiry {
				continue
			}
			if !(0 < s.P50Ms && s.P50Ms <= s.P95Ms && s.P95Ms <= s.P99Ms) {
				t.Errorf("%s %s %s: percentiles %v/%v/%v ms", x.Engine, x.Op, name, s.P50Ms, s.P95Ms, s.P99Ms)
			}
		}
		if x.Ratio <= 0 || x.SustainedRatio <= 0 || x.SustainedRatio > x.Ratio || x.OutboxDrainSeconds < 0 {
			t.Errorf("%s %s: ratio %v, sustained %v, drain %vs", x.Engine, x.Op, x.Ratio, x.SustainedRatio, x.OutboxDrainSeconds)
		}
		// The service's CPU time per operation is split into parts that
		// add up to it. A tiny phase has few samples, so which parts show
		// is left to the longer lifecycle test, except that PostgreSQL has
		// no writer.
		var pct, ms float64
		named := map[string]bool{}
		for _, p := range x.ServiceCPUParts {
			pct, ms, named[p.Part] = pct+p.Pct, ms+p.Ms, true
		}
		if len(x.ServiceCPUParts) > 0 && (math.Abs(pct-100) > 1e-6 || math.Abs(ms-x.Service.CPUMsPerOp) > 1e-6) {
			t.Errorf("%s %s: cpu parts %+v (%v%%, %v ms) of %v ms per op", x.Engine, x.Op, x.ServiceCPUParts, pct, ms, x.Service.CPUMsPerOp)
		}
		if x.Op == bench.OpDeposit && (len(x.ServiceCPUParts) == 0 || (named[bench.PartWriter] && x.Engine != "sqlite")) {
			t.Errorf("%s deposit: cpu parts %+v, want some, and no writer's but on SQLite", x.Engine, x.ServiceCPUParts)
		}
		// SQLite's single writer reports its load. The floor runs one
		// transaction per operation; a deposit, pickup or handover through
		// the service runs that and its bookkeeping, where the scheduler
		// expires many parcels in one.
		f, s := x.Floor.Writer, x.Service.Writer
		if (f != nil || s != nil) != (x.Engine == "sqlite") {
			t.Errorf("%s %s: writer loads %+v and %+v, want them on SQLite only", x.Engine, x.Op, f, s)
		} else if f != nil && (s == nil || f.BusyPct <= 0 || f.UpdatesPerCommit < 1 || f.UpdatesPerParcel != 1 ||
			s.BusyPct <= 0 || s.BusyMsPerParcel <= 0 || (x.Op != bench.OpExpiry && s.UpdatesPerParcel <= 1)) {
			t.Errorf("%s %s: writer loads floor %+v, service %+v", x.Engine, x.Op, f, s)
		}
	}
	for _, e := range []string{"sqlite", "postgres"} {
		for _, op := range []string{bench.OpDeposit, bench.OpPickup, bench.OpExpiry, bench.OpDoorstep, bench.OpLockerPickup} {
			if !seen[e+"/"+op] {
				t.Errorf("no result for %s %s", e, op)
			}
		}
	}
}

// Ensure the table names each engine's operations and the ratio column.
func TestBenchTable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the service")
	}
	out, err := runCLI(t, "bench", "--duration", "200ms", "--concurrency", "2")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	for _, want := range []string{"service/floor", "sqlite", "deposit", "pickup", "expiry", "doorstep", "locker-pickup", " service cpu: ", "sqlite deposit writer: floor busy "} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "postgres") {
		t.Errorf("postgres measured without --db:\n%s", out)
	}
}

// Ensure bad command lines get a clear error before anything starts.
func TestBenchFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--duration", "-1s"}, "--duration"},
		{[]string{"--concurrency", "0"}, "--concurrency"},
		{[]string{"--engines", "mysql"}, `unknown engine "mysql"`},
		{[]string{"--engines", "sqlite,sqlite"}, "named twice"},
		{[]string{"--engines", "postgres"}, "--db postgres://"},
		{[]string{"--db", "/tmp/x.db"}, "want a postgres:// URL"},
		{[]string{"--db", "mysql://u:secret@h/db"}, "want a postgres:// URL"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(context.Background(), append([]string{"bench"}, c.args...), noEnv, io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error repeats a password: %v", err)
			}
		})
	}
}
