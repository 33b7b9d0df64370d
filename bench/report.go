package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// Operations measured, in the order they run.
const (
	OpDeposit = "deposit"
	OpPickup  = "pickup"
	OpExpiry  = "expiry"
	// OpDoorstep is a doorstep delivery completed with the recipient's
	// password, told to the courier at the address.
	OpDoorstep = "doorstep"
	// OpLockerPickup is a pickup a locker's agent verified and opened on
	// its own and reported over the device channel for the service to
	// apply.
	OpLockerPickup = "locker-pickup"
)

// Result is one operation on one engine: the floor, the service and their
// ratio.
type Result struct {
	Engine  string `json:"engine"`
	Op      string `json:"op"`
	Floor   Stats  `json:"floor"`
	Service Stats  `json:"service"`
	// Ratio is the service's ops/s over the floor's.
	Ratio float64 `json:"ratio"`
	// OutboxDrainSeconds is how long the notification outbox took to empty
	// after the service phase ended: near the dispatcher's interval when it
	// kept up during the phase.
	OutboxDrainSeconds float64 `json:"outbox_drain_s"`
	// SustainedRatio counts the drain in the service's time: the ratio of
	// ops/s with every notification of the phase sent.
	SustainedRatio float64 `json:"sustained_ratio"`
	// ServiceCPUParts splits the service's CPU time per operation by
	// where it went, from a CPU profile of the phase (none if another
	// profile held the profiler).
	ServiceCPUParts []CPUPart `json:"service_cpu_parts,omitempty"`
}

// Report is a whole run.
type Report struct {
	// DurationSeconds is the longest a phase may run.
	DurationSeconds float64  `json:"duration_s"`
	Concurrency     int      `json:"concurrency"`
	GOMAXPROCS      int      `json:"gomaxprocs"`
	GoVersion       string   `json:"go_version"`
	Results         []Result `json:"results"`
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// writeJSON writes v as indented JSON, as every report does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteTable writes r as an aligned text table.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "%d workers, phases of up to %gs, GOMAXPROCS %d, %s\n\n", r.Concurrency, r.DurationSeconds, r.GOMAXPROCS, r.GoVersion)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "engine\top\tfloor ops/s\tp50 ms\tp95 ms\tp99 ms\tcpu ms/op\tservice ops/s\tp50 ms\tp95 ms\tp99 ms\tcpu ms/op\tservice/floor\tdrain s\tsustained/floor\t")
	for _, x := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%.2f\t%.0f\t%s\t%s\t%s\t%.2f\t%.2f\t%.1f\t%.2f\t\n", x.Engine, x.Op,
			x.Floor.OpsPerSec, latency(x.Floor.P50Ms), latency(x.Floor.P95Ms), latency(x.Floor.P99Ms), x.Floor.CPUMsPerOp,
			x.Service.OpsPerSec, latency(x.Service.P50Ms), latency(x.Service.P95Ms), latency(x.Service.P99Ms), x.Service.CPUMsPerOp, x.Ratio, x.OutboxDrainSeconds, x.SustainedRatio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, x := range r.Results {
		if len(x.ServiceCPUParts) > 0 {
			fmt.Fprintf(w, "%s %s service cpu: %.2f ms per op: %s\n", x.Engine, x.Op, x.Service.CPUMsPerOp, formatParts(x.ServiceCPUParts))
		}
	}
	for _, x := range r.Results {
		if x.Floor.Writer != nil && x.Service.Writer != nil {
			fmt.Fprintf(w, "%s %s writer: floor %s; service %s\n", x.Engine, x.Op, x.Floor.Writer.phaseLine(), x.Service.Writer.phaseLine())
		}
	}
	_, err := fmt.Fprintln(w, "\nservice/floor is the ratio of ops/s. Expiry through the service is its scheduler firing due timers:\n"+
		"throughput only. cpu ms/op is the process's CPU time per operation; the service's includes the\n"+
		"HTTP clients, the scheduler and sending the notifications. drain s is how long the outbox took to\n"+
		"empty after the phase; sustained/floor counts it in the service's time. The service's cpu lines\n"+
		"split its CPU time per operation by a CPU profile of the phase into parts, each a set of\n"+
		"goroutines (the single SQLite writer, the API, the bench's clients, the scheduler, the outbox,\n"+
		"the lockers, the garbage collector). The writer lines say how busy SQLite's single writer was\n"+
		"over the same stretch (near 100 %, it sets the rate), how many transactions it committed at\n"+
		"once, and how many it ran and for how long per operation: a deposit's or pickup's through the\n"+
		"service include the outbox's, the lockers' and the idempotency bookkeeping, and the scheduler\n"+
		"expires many parcels in one. A locker pickup is a locker's report that its agent opened a door\n"+
		"for a PIN, published on the device channel and applied by the service: its latency runs from\n"+
		"the publish to the apply.")
	return err
}

// phaseLine is l as a phase's writer line says it.
func (l *WriterLoad) phaseLine() string {
	return fmt.Sprintf("busy %.0f%% (committing %.0f%%), %.1f per commit, %.2f transactions and %.2f ms per op",
		l.BusyPct, l.CommitPct, l.UpdatesPerCommit, l.UpdatesPerParcel, l.BusyMsPerParcel)
}

func latency(ms float64) string {
	if ms == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", ms)
}
