package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/parcelguard/parcelguard/sqlite"
)

// Latency is one step's latency distribution over a sustained run.
type Latency struct {
	// N is how many times the step completed.
	N     int     `json:"n"`
	P50Ms float64 `json:"p50_ms"`
	P95Ms float64 `json:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// Steps are the latencies of each step of a parcel's lifecycle, and of the
// whole.
type Steps struct {
	// Announce is the carrier's POST /v1/parcels.
	Announce Latency `json:"announce"`
	// Reserve and Deposit are the courier's two calls.
	Reserve Latency `json:"reserve"`
	Deposit Latency `json:"deposit"`
	// DepositNotice runs from the deposit's answer until the outbox sent
	// the recipient's SMS with the PIN (the mailbox entry's time).
	DepositNotice Latency `json:"deposit_notice"`
	// Pickup is the kiosk's POST with the PIN from that SMS.
	Pickup Latency `json:"pickup"`
	// PickupNotice runs from the pickup's answer until the picked-up SMS
	// was sent.
	PickupNotice Latency `json:"pickup_notice"`
	// Lifecycle runs from the announcement until the picked-up SMS was
	// sent.
	Lifecycle Latency `json:"lifecycle"`
}

// Window is one slice of a sustained run.
type Window struct {
	// StartSeconds is the window's start, from the run's.
	StartSeconds float64 `json:"start_s"`
	Seconds      float64 `json:"seconds"`
	// Completed counts the parcels whose picked-up notice was sent in the
	// window.
	Completed     int     `json:"completed"`
	ParcelsPerSec float64 `json:"parcels_per_s"`
	// CPUMsPerParcel is the process's CPU time in the window per parcel
	// completed in it.
	CPUMsPerParcel float64 `json:"cpu_ms_per_parcel"`
	// OutboxBacklog is how many outbox messages were pending at the end.
	OutboxBacklog int `json:"outbox_backlog"`
	// DeviceBacklog is how many device commands (grants, revokes) were
	// pending at the end.
	DeviceBacklog int `json:"device_backlog"`
	// RSSMB and HeapMB are the process's resident set and Go heap at the end.
	RSSMB  float64 `json:"rss_mb"`
	HeapMB float64 `json:"heap_mb"`
	// WriterBusyPct is the share of the window the store's single writer
	// spent running transactions (SQLite only).
	WriterBusyPct float64 `json:"writer_busy_pct,omitempty"`
}

// WriterLoad is how hard a store's single writer (SQLite's) worked over a
// run, or over a bench phase, where each operation is a parcel's. Every
// write of the service goes through it in turn, so BusyPct near 100 says
// the writer sets the rate, whatever CPU is left.
type WriterLoad struct {
	BusyPct float64 `json:"busy_pct"`
	// CommitPct is the share of the run spent committing (writing the
	// WAL, fsync, checkpoints), part of BusyPct.
	CommitPct float64 `json:"commit_pct"`
	// Commits and UpdatesPerCommit are the batches committed and how
	// many transactions each carried on average.
	Commits          int64   `json:"commits"`
	UpdatesPerCommit float64 `json:"updates_per_commit"`
	// UpdatesPerParcel and BusyMsPerParcel are the transactions and the
	// writer's time each completed parcel took.
	UpdatesPerParcel float64 `json:"updates_per_parcel"`
	BusyMsPerParcel  float64 `json:"busy_ms_per_parcel"`
}

// writerLoad summarises the writer's work w over a run of seconds that
// completed parcels.
func writerLoad(w sqlite.WriterStats, seconds float64, parcels int) *WriterLoad {
	l := &WriterLoad{BusyPct: 100 * w.Busy.Seconds() / seconds, CommitPct: 100 * w.Committing.Seconds() / seconds,
		Commits: w.Commits}
	if w.Commits > 0 {
		l.UpdatesPerCommit = float64(w.Updates) / float64(w.Commits)
	}
	if parcels > 0 {
		l.UpdatesPerParcel = float64(w.Updates) / float64(parcels)
		l.BusyMsPerParcel = ms(w.Busy) / float64(parcels)
	}
	return l
}

// Check is one invariant checked at the end of a sustained run.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Checked counts what was looked at (parcels, messages, chains…).
	Checked int `json:"checked"`
	// Violations counts what failed; Examples describes the first few.
	Violations int      `json:"violations"`
	Examples   []string `json:"examples,omitempty"`
}

// LifecycleResult is one engine's sustained run.
type LifecycleResult struct {
	Engine string `json:"engine"`
	// Completed counts the parcels whose picked-up notice was sent during
	// the run: the sum of the windows' Completed.
	Completed     int     `json:"completed"`
	Seconds       float64 `json:"seconds"`
	ParcelsPerSec float64 `json:"parcels_per_s"`
	// WindowMinPerSec and WindowMedianPerSec are the slowest and the
	// median window's rate: a sustained rate keeps the minimum near the
	// median.
	WindowMinPerSec    float64 `json:"window_min_per_s"`
	WindowMedianPerSec float64 `json:"window_median_per_s"`
	Steps              Steps   `json:"steps"`
	// CPUMsPerParcel is the process's CPU time over the run per completed
	// parcel: the service, its outbox and scheduler, and the clients.
	CPUMsPerParcel float64 `json:"cpu_ms_per_parcel"`
	// CPUParts splits CPUMsPerParcel by where it went, from a CPU profile
	// of the run (none if another profile held the profiler), and
	// CPUCeiling is the rate that CPU time would allow at best.
	CPUParts   []CPUPart   `json:"cpu_parts,omitempty"`
	CPUCeiling *CPUCeiling `json:"cpu_ceiling,omitempty"`
	// MailboxReadsPerParcel is how often the recipients looked into the
	// mailbox per parcel, waiting for their two SMS; part of the CPU time.
	MailboxReadsPerParcel float64 `json:"mailbox_reads_per_parcel"`
	// OutboxBacklogMax and OutboxBacklogLast are the largest and the last
	// window's pending outbox messages.
	OutboxBacklogMax  int `json:"outbox_backlog_max"`
	OutboxBacklogLast int `json:"outbox_backlog_last"`
	// DeviceBacklogMax is the largest window's pending device commands:
	// the lockers' grants lag by about that many commands.
	DeviceBacklogMax int `json:"device_backlog_max"`
	// PeakRSSMB and PeakHeapMB are the largest resident set and Go heap
	// sampled during the run (the service and the clients share the
	// process).
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	PeakHeapMB float64 `json:"peak_heap_mb"`
	// Writer is the store's single writer's load over the run (SQLite).
	Writer *WriterLoad `json:"writer,omitempty"`
	// Warmup counts the parcels completed during the warm-up, Tail those
	// under way when the run ended and finished afterwards (neither in
	// Completed, both checked), and TailSeconds how long that took;
	// DrainSeconds how long the outbox and the device outbox then took to
	// empty.
	Warmup       int     `json:"warmup"`
	Tail         int     `json:"tail"`
	TailSeconds  float64 `json:"tail_s"`
	DrainSeconds float64 `json:"drain_s"`
	// SkippedNotices counts the deposit notices (e-mails) the outbox
	// skipped because the parcel had been picked up before they went out:
	// the recipient acted on the SMS first. A measure of the outbox's lag.
	SkippedNotices int      `json:"skipped_notices"`
	Windows        []Window `json:"windows"`
	Invariants     []Check  `json:"invariants"`
}

// OK reports whether every invariant held.
func (r *LifecycleResult) OK() bool {
	for _, c := range r.Invariants {
		if !c.OK {
			return false
		}
	}
	return len(r.Invariants) > 0
}

// LifecycleReport is a sustained lifecycle run over one or more engines.
type LifecycleReport struct {
	// DurationSeconds is the measured run, after WarmupSeconds.
	DurationSeconds float64           `json:"duration_s"`
	WarmupSeconds   float64           `json:"warmup_s"`
	WindowSeconds   float64           `json:"window_s"`
	Concurrency     int               `json:"concurrency"`
	GOMAXPROCS      int               `json:"gomaxprocs"`
	GoVersion       string            `json:"go_version"`
	Results         []LifecycleResult `json:"results"`
}

// WriteJSON writes r as indented JSON.
func (r *LifecycleReport) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// WriteTable writes r as aligned text tables: the rates, the steps'
// latencies, the windows and the invariants of each engine.
func (r *LifecycleReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "lifecycle: %d workers for %gs after a %gs warm-up, windows of %gs, GOMAXPROCS %d, %s\n\n", r.Concurrency,
		r.DurationSeconds, r.WarmupSeconds, r.WindowSeconds, r.GOMAXPROCS, r.GoVersion)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "engine\tparcels\tparcels/s\twindow min/s\twindow median/s\tcpu ms/parcel\tmailbox reads/parcel\tbacklog max\tbacklog last\tdevice backlog max\tpeak RSS MB\tpeak heap MB\twarm-up\ttail\tdrain s\tinvariants\t")
	for _, x := range r.Results {
		inv := "ok"
		if !x.OK() {
			inv = "FAILED"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.0f\t%.2f\t%.1f\t%d\t%d\t%d\t%.0f\t%.0f\t%d\t%d\t%.1f\t%s\t\n", x.Engine, x.Completed, x.ParcelsPerSec,
			x.WindowMinPerSec, x.WindowMedianPerSec, x.CPUMsPerParcel, x.MailboxReadsPerParcel, x.OutboxBacklogMax, x.OutboxBacklogLast,
			x.DeviceBacklogMax, x.PeakRSSMB, x.PeakHeapMB, x.Warmup, x.Tail, x.DrainSeconds, inv)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, x := range r.Results {
		if l := x.Writer; l != nil {
			fmt.Fprintf(w, "%s writer: busy %.0f%% of the run (committing %.0f%%), %.1f ms per parcel, %.1f transactions per parcel, %.1f per commit\n",
				x.Engine, l.BusyPct, l.CommitPct, l.BusyMsPerParcel, l.UpdatesPerParcel, l.UpdatesPerCommit)
		}
		x.writeCPU(w, r.GOMAXPROCS)
	}
	for _, x := range r.Results {
		if err := x.writeDetails(w); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, "\nEach worker takes one parcel at a time through the API: the carrier announces it, the courier\n"+
		"reserves and deposits, the recipient waits for the deposit SMS in the mailbox and the kiosk picks\n"+
		"up with its PIN; the parcel counts once the picked-up SMS is sent, in the window it was sent in.\n"+
		"Notice latencies run from the call's answer to the message's delivery. cpu ms/parcel is the\n"+
		"process's CPU time (service, outbox, scheduler and clients) over the run per parcel. Backlog is\n"+
		"the outbox's pending messages at a window's end; as each worker waits for its SMS it stays under\n"+
		"about three per worker, and near that bound the outbox is what limits the rate. Device\n"+
		"backlog is the grants and revokes pending for the lockers. Writer busy is the share of the\n"+
		"time SQLite's single writer spent running transactions: near 100 %, it sets the rate. The CPU\n"+
		"time per parcel is split by a CPU profile of the run into parts, each a set of goroutines; the\n"+
		"ceilings are the rates it would allow with nothing but CPU in the way: the writer's part on\n"+
		"the one core a goroutine can use, the whole on GOMAXPROCS cores. Parcels\n"+
		"completed in the warm-up, and tail parcels, under way at the end and finished after it, are\n"+
		"checked but not counted.")
	return err
}

// writeCPU writes the line of x's CPU time per parcel by part and the
// line of its ceilings, if the run was profiled.
func (x *LifecycleResult) writeCPU(w io.Writer, procs int) {
	if len(x.CPUParts) == 0 {
		return
	}
	fmt.Fprintf(w, "%s cpu: %.2f ms per parcel: %s\n", x.Engine, x.CPUMsPerParcel, formatParts(x.CPUParts))
	if c := x.CPUCeiling; c != nil {
		writer := ""
		if c.WriterPerSec > 0 {
			writer = fmt.Sprintf("%.0f parcels/s for the writer's part on one core, ", c.WriterPerSec)
		}
		fmt.Fprintf(w, "%s ceilings: %s%.0f parcels/s for the whole on %d cores\n", x.Engine, writer, c.ProcessPerSec, procs)
	}
}

// writeDetails writes one engine's steps, windows and invariants.
func (x *LifecycleResult) writeDetails(w io.Writer) error {
	fmt.Fprintf(w, "\n%s steps\n", x.Engine)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\tn\tp50 ms\tp95 ms\tp99 ms\tmax ms\t")
	for _, s := range []struct {
		name string
		l    Latency
	}{{"announce", x.Steps.Announce}, {"reserve", x.Steps.Reserve}, {"deposit", x.Steps.Deposit},
		{"deposit→notice", x.Steps.DepositNotice}, {"pickup", x.Steps.Pickup}, {"pickup→notice", x.Steps.PickupNotice},
		{"lifecycle", x.Steps.Lifecycle}} {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t\n", s.name, s.l.N, s.l.P50Ms, s.l.P95Ms, s.l.P99Ms, s.l.MaxMs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s windows\n", x.Engine)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "from s\tparcels\tparcels/s\tcpu ms/parcel\twriter busy %\tbacklog\tdevice backlog\tRSS MB\theap MB\t")
	for _, win := range x.Windows {
		busy := "–"
		if x.Writer != nil {
			busy = fmt.Sprintf("%.0f", win.WriterBusyPct)
		}
		fmt.Fprintf(tw, "%g\t%d\t%.0f\t%.2f\t%s\t%d\t%d\t%.0f\t%.0f\t\n", win.StartSeconds, win.Completed, win.ParcelsPerSec,
			win.CPUMsPerParcel, busy, win.OutboxBacklog, win.DeviceBacklog, win.RSSMB, win.HeapMB)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s invariants (%d deposit notices skipped: the parcel was picked up before they went out)\n", x.Engine, x.SkippedNotices)
	for _, c := range x.Invariants {
		state := "ok"
		if !c.OK {
			state = fmt.Sprintf("FAILED (%d)", c.Violations)
		}
		fmt.Fprintf(w, "  %-22s %-12s %d checked\n", c.Name, state, c.Checked)
		for _, e := range c.Examples {
			fmt.Fprintf(w, "      %s\n", e)
		}
	}
	return nil
}

// failedChecks names the invariants that failed.
func (x *LifecycleResult) failedChecks() string {
	var names []string
	for _, c := range x.Invariants {
		if !c.OK {
			names = append(names, fmt.Sprintf("%s (%d)", c.Name, c.Violations))
		}
	}
	return strings.Join(names, ", ")
}
