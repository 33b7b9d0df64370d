package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard/sqlite"
)

// Ensure a meter takes the writer's work over its own stretch only, per
// operation, and leaves the writer out for a store without one.
func TestMeterWriter(t *testing.T) {
	ws := sqlite.WriterStats{Commits: 10, Updates: 100, Busy: time.Second, Committing: time.Second / 4}
	m := startMeter(func() sqlite.WriterStats { return ws })
	ws = ws.Add(sqlite.WriterStats{Commits: 20, Updates: 300, Busy: 60 * time.Millisecond, Committing: 15 * time.Millisecond})
	s := m.stats(Stats{Ops: 200})
	l := s.Writer
	if l == nil || l.Commits != 20 || l.UpdatesPerCommit != 15 || l.UpdatesPerParcel != 1.5 || l.BusyMsPerParcel != 0.3 {
		t.Fatalf("writer load %+v, want 20 commits of 15, 1.5 transactions and 0.3 ms per op", l)
	}
	if l.BusyPct <= 0 || l.CommitPct <= 0 || l.CommitPct >= l.BusyPct {
		t.Errorf("busy %v%%, committing %v%%: want committing a part of busy", l.BusyPct, l.CommitPct)
	}
	if s := startMeter(writerOf(struct{}{})).stats(Stats{Ops: 1}); s.Writer != nil {
		t.Errorf("a store without a single writer got a writer load %+v", s.Writer)
	}
}

// Ensure the phase table has a writer line for an engine with a single
// writer, and none for one without.
func TestReportWriterLines(t *testing.T) {
	floor := &WriterLoad{BusyPct: 97, CommitPct: 31, Commits: 10, UpdatesPerCommit: 15.3, UpdatesPerParcel: 1, BusyMsPerParcel: 0.2}
	svc := &WriterLoad{BusyPct: 95, CommitPct: 25, Commits: 30, UpdatesPerCommit: 8.9, UpdatesPerParcel: 1.6, BusyMsPerParcel: 0.41}
	r := &Report{Concurrency: 32, DurationSeconds: 8, GOMAXPROCS: 2, Results: []Result{
		{Engine: "sqlite", Op: OpDeposit, Floor: Stats{Writer: floor}, Service: Stats{Writer: svc}},
		{Engine: "postgres", Op: OpDeposit},
	}}
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := "sqlite deposit writer: floor busy 97% (committing 31%), 15.3 per commit, 1.00 transactions and 0.20 ms per op; " +
		"service busy 95% (committing 25%), 8.9 per commit, 1.60 transactions and 0.41 ms per op\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, b.String())
	}
	if strings.Contains(b.String(), "postgres deposit writer") {
		t.Errorf("a writer line for PostgreSQL:\n%s", b.String())
	}
}
