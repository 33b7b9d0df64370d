package bench

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard/sqlite"
)

// Ensure the histogram's percentiles are the exact ones to within its 1 %
// buckets, and its maximum exact.
func TestHistogramPercentiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h histogram
	var exact []time.Duration
	for range 20000 {
		// Log-normal around 50 ms, the shape of request latencies.
		d := time.Duration(math.Exp(rng.NormFloat64()+math.Log(50e6))) + time.Microsecond
		h.add(d)
		exact = append(exact, d)
	}
	slices.Sort(exact)
	for _, p := range []float64{1, 50, 95, 99, 99.9} {
		got, want := h.percentile(p), Percentile(exact, p)
		if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.011 {
			t.Errorf("p%v = %v, want %v within 1%% (off by %.2f%%)", p, got, want, rel*100)
		}
	}
	if got, want := h.percentile(100), exact[len(exact)-1]; got != want {
		t.Errorf("p100 = %v, want the maximum %v", got, want)
	}
	l := h.latency()
	if l.N != len(exact) || !(l.P50Ms <= l.P95Ms && l.P95Ms <= l.P99Ms && l.P99Ms <= l.MaxMs) {
		t.Errorf("latency %+v", l)
	}
	var empty histogram
	if empty.percentile(50) != 0 || empty.latency() != (Latency{}) {
		t.Errorf("an empty histogram has percentiles")
	}
}

// Ensure the PIN comes out of a deposit SMS as the English template words
// it, and a message without one is an error rather than a wrong PIN.
func TestPINOfDepositSMS(t *testing.T) {
	sms := "Your parcel LIFE-000000042 is waiting at Bench 3 until 28.11. 18:30.\n" +
		"Pickup code for this parcel only: 048213\nNobody from parcelguard will ever ask you for it."
	if pin, err := pinOf(sms); err != nil || pin != "048213" {
		t.Errorf("pinOf = %q, %v; want 048213", pin, err)
	}
	for _, text := range []string{"Parcel LIFE-000000042 was picked up at Bench 3 on 21.11. 10:02.", "code: 12345", "code: 1234567"} {
		if pin, err := pinOf(text); err == nil {
			t.Errorf("pinOf(%q) = %q, want an error", text, pin)
		}
	}
}

// Ensure runs are cut into 10 s windows, at least five, and warm up for a
// tenth of the run, at most 10 s.
func TestLifecycleWindows(t *testing.T) {
	for _, c := range []struct{ d, window, warmup time.Duration }{
		{10 * time.Minute, 10 * time.Second, 10 * time.Second},
		{60 * time.Second, 10 * time.Second, 6 * time.Second},
		{65 * time.Second, 65 * time.Second / 7, 6500 * time.Millisecond},
		{3 * time.Second, 600 * time.Millisecond, 300 * time.Millisecond},
	} {
		if w := WindowFor(c.d); w != c.window {
			t.Errorf("WindowFor(%v) = %v, want %v", c.d, w, c.window)
		}
		if w := WarmupFor(c.d); w != c.warmup {
			t.Errorf("WarmupFor(%v) = %v, want %v", c.d, w, c.warmup)
		}
	}
}

// Ensure a run's result adds its windows up, files completions by their
// time, and the table shows every part.
func TestLifecycleResult(t *testing.T) {
	start := time.Now()
	r := newLifeRun(&lifeNetwork{recipients: newRecipients(nil)}, nil, 4, time.Second, 3*time.Second, time.Second)
	r.began, r.start, r.stopAt = start.Add(-time.Second), start, start.Add(3*time.Second)
	for _, at := range []time.Duration{-10 * time.Millisecond, 0, 500 * time.Millisecond, 1500 * time.Millisecond,
		2999 * time.Millisecond, 3 * time.Second, 4 * time.Second} {
		r.count(start.Add(at))
	}
	r.writer = func() sqlite.WriterStats { return sqlite.WriterStats{} }
	for k, backlog := range []int{7, 3, 5} {
		r.windows[k].backlog, r.windows[k].cpu = backlog, 10*time.Millisecond
		r.windows[k].writer = sqlite.WriterStats{Commits: 2, Updates: 8, Busy: time.Duration(k+1) * 250 * time.Millisecond,
			Committing: 100 * time.Millisecond}
	}
	r.net.recipients.reads.Store(14)
	r.steps[stepLifecycle].add(200 * time.Millisecond)
	res := r.result("sqlite")
	if res.Warmup != 1 || res.Tail != 2 || res.Completed != 4 {
		t.Errorf("warm-up %d, completed %d, tail %d; want 1, 4, 2", res.Warmup, res.Completed, res.Tail)
	}
	got := []int{}
	for _, w := range res.Windows {
		got = append(got, w.Completed)
	}
	if !slices.Equal(got, []int{2, 1, 1}) {
		t.Errorf("windows %v, want [2 1 1]", got)
	}
	if res.OutboxBacklogMax != 7 || res.OutboxBacklogLast != 5 || res.WindowMinPerSec != 1 || res.WindowMedianPerSec != 1 ||
		res.ParcelsPerSec != 4.0/3 || res.CPUMsPerParcel != 7.5 || res.MailboxReadsPerParcel != 2 || res.Steps.Lifecycle.N != 1 {
		t.Errorf("result %+v", res)
	}
	if got := []float64{res.Windows[0].WriterBusyPct, res.Windows[1].WriterBusyPct, res.Windows[2].WriterBusyPct}; !slices.Equal(got, []float64{25, 50, 75}) {
		t.Errorf("windows' writer busy %v%%, want [25 50 75]", got)
	}
	if w := res.Writer; w == nil || w.BusyPct != 50 || w.CommitPct != 10 || w.Commits != 6 || w.UpdatesPerCommit != 4 ||
		w.UpdatesPerParcel != 6 || w.BusyMsPerParcel != 375 {
		t.Errorf("writer load %+v, want busy 50%%, committing 10%%, 6 commits of 4, 6 per parcel, 375 ms per parcel", w)
	}
	res.Invariants = []Check{{Name: CheckAudit, OK: true, Checked: 9}, {Name: CheckCompartments, Checked: 8, Violations: 1,
		Examples: []string{"compartment cmp_x is occupied"}}}
	if res.OK() {
		t.Error("a result with a failed check is OK")
	}
	res.CPUParts = []CPUPart{{PartWriter, 40, 3}, {PartAPI, 35, 2.625}, {PartOther, 25, 1.875}}
	res.CPUCeiling = cpuCeiling(res, 2)
	var buf bytes.Buffer
	rep := &LifecycleReport{DurationSeconds: 3, WarmupSeconds: 1, WindowSeconds: 1, Concurrency: 4, GOMAXPROCS: 2,
		Results: []LifecycleResult{*res}}
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sqlite", "FAILED", "deposit→notice", "pickup→notice", "lifecycle", "sqlite windows",
		CheckCompartments, "compartment cmp_x is occupied", "sqlite writer: busy 50% of the run (committing 10%)",
		"sqlite cpu: 7.50 ms per parcel: sqlite writer 3.00 (40%), API 2.62 (35%), other 1.88 (25%)",
		"sqlite ceilings: 333 parcels/s for the writer's part on one core, 267 parcels/s for the whole on 2 cores"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}

// Ensure the notice board wakes exactly the recipients whose causes came
// before a found one, and a recipient who already missed after a find
// waits for a newer one.
func TestNoticeBoard(t *testing.T) {
	var b noticeBoard
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	woken := func(w *waiter) bool {
		select {
		case <-w.wake:
			return true
		default:
			return false
		}
	}
	w10, w20, w30 := b.wait(at(10)), b.wait(at(20)), b.wait(at(30))
	gone := b.wait(at(15))
	b.leave(gone)
	b.found(at(25))
	if !woken(w10) || !woken(w20) || woken(w30) || woken(gone) {
		t.Fatalf("after a find at 25: woken 10 %v, 20 %v, 30 %v, left 15 %v", woken(w10), woken(w20), woken(w30), woken(gone))
	}
	// Missed at 5 although 25 was found: only a newer find says more.
	late := b.wait(at(5))
	b.found(at(20)) // older than the mark: nothing new
	if woken(late) {
		t.Fatal("woken by a find older than the mark")
	}
	b.found(at(40))
	if !woken(late) || !woken(w30) {
		t.Fatal("not woken by a newer find")
	}
	b.leave(late) // woken: leaving is a no-op
	if len(b.waiting) != 0 {
		t.Fatalf("%d waiters left", len(b.waiting))
	}
}
