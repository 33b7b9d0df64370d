package sim

import (
	"bufio"
	"context"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/audit"
)

// Summary is everything a run measured; it is the JSON summary and the
// data of the HTML report.
type Summary struct {
	Config Config `json:"config"`
	Engine string `json:"engine"`

	Network  NetworkSummary `json:"network"`
	SimStart time.Time      `json:"sim_start"`
	SimEnd   time.Time      `json:"sim_end"`
	Ticks    int            `json:"ticks"`
	// TicksSkipped were idle and jumped over.
	TicksSkipped int `json:"ticks_skipped"`

	Wall WallSummary `json:"wall"`

	Parcels ParcelSummary `json:"parcels"`
	// ConflictRetries counts service calls an actor repeated because the
	// service answered "concurrent update; retry" after its own retries.
	ConflictRetries int64                  `json:"conflict_retries"`
	Notifications   int64                  `json:"notifications"`
	Latency         map[string]Percentiles `json:"latency_ms"`
	// Dwell is deposit → pickup by the recipient, WaitForLocker announce
	// → deposit, in simulated hours.
	Dwell         Percentiles      `json:"dwell_hours"`
	WaitForLocker Percentiles      `json:"wait_for_locker_hours"`
	Occupancy     OccupancySummary `json:"occupancy"`
	Alarms        AlarmSummary     `json:"alarms"`
	Attack        AttackSummary    `json:"attack"`
	Audit         AuditSummary     `json:"audit"`
	Invariants    InvariantSummary `json:"invariants"`
	// Doorstep and LockerDelegates are the sections of the doorstep and
	// locker-delegate actors, when they ran.
	Doorstep        *DoorstepSummary `json:"doorstep,omitempty"`
	LockerDelegates *DelegateSummary `json:"locker_delegates,omitempty"`

	Hourly Hourly `json:"hourly"`
}

// NetworkSummary describes the simulated network.
type NetworkSummary struct {
	Sites        int            `json:"sites"`
	Compartments int            `json:"compartments"`
	BySize       map[string]int `json:"compartments_by_size"`
	Largest      int            `json:"largest_site"`
}

// WallSummary is what the run cost in real time and memory.
type WallSummary struct {
	SeedSeconds  float64 `json:"seed_seconds"`
	RunSeconds   float64 `json:"run_seconds"`
	TotalSeconds float64 `json:"total_seconds"`
	// ParcelsPerSecond is parcels announced per second of the run (not
	// the seeding); ServiceCallsPerSecond counts every use case called.
	ParcelsPerSecond      float64 `json:"parcels_per_second"`
	ServiceCallsPerSecond float64 `json:"service_calls_per_second"`
	// PeakRSSBytes is the process's peak resident set (VmHWM), 0 where
	// /proc is missing; PeakHeapBytes the Go heap's peak seen by samples.
	PeakRSSBytes uint64 `json:"peak_rss_bytes"`
	GoHeapBytes  uint64 `json:"go_heap_bytes"`
	GoMaxProcs   int    `json:"gomaxprocs"`
	GoVersion    string `json:"go_version"`
	// LoadAverage is the machine's 1-minute load average at the end of
	// the run (other processes compete for the same cores).
	LoadAverage   float64 `json:"load_average"`
	SimulatedDays float64 `json:"simulated_days"`
}

// ParcelSummary counts parcels by what happened to them.
type ParcelSummary struct {
	Arrived        int64 `json:"arrived"`
	Deposited      int64 `json:"deposited"`
	PickedUp       int64 `json:"picked_up"`
	Expired        int64 `json:"expired"`
	Collected      int64 `json:"collected"`
	Returned       int64 `json:"returned"`
	Reminded       int64 `json:"reminded"`
	DeferredRounds int64 `json:"deferred_rounds"`
	NeverDeposited int   `json:"never_deposited"`
	StillInLocker  int   `json:"still_in_locker"`
	LateRefused    int64 `json:"late_refused"`
	// Typos are mistyped PINs, Replays used codes presented again; both
	// count against their locker's guard like a guess.
	Typos           int64 `json:"typos"`
	Replays         int64 `json:"replays"`
	RecipientsNever int   `json:"recipients_never_came"`
}

// OccupancySummary is the share of compartments in use.
type OccupancySummary struct {
	Peak float64 `json:"peak"`
	Mean float64 `json:"mean"`
}

// AlarmSummary counts operator alarms raised.
type AlarmSummary struct {
	Guessing          int `json:"guessing"`
	GuessingAtAttack  int `json:"guessing_at_attacked_sites"`
	NotificationsDead int `json:"notifications_dead"`
}

// AttackSummary is the attack scenario's outcome beside its analytic bound.
type AttackSummary struct {
	Attackers int `json:"attackers"`
	// Bound is the analytic bar for a full locker the size of the largest
	// attacked site over a whole storage period.
	Bound AttackBound `json:"bound"`
	// Guesses made (failed or not) and attempts the guard turned away.
	Guesses int `json:"guesses"`
	Blocked int `json:"blocked_attempts"`
	// GuessesPerAttacker is the mean over attackers, comparable with
	// Bound.MaxGuesses when AttackFor is a storage period.
	GuessesPerAttacker float64 `json:"guesses_per_attacker"`
	// Opened is compartments opened by attackers.
	Opened int `json:"compartments_opened"`
	// SimulatedPNothingOpens is the probability that none of the guesses
	// actually made would open anything, given the active grants at each
	// guess (mean over attackers); the observed figure is Opened.
	SimulatedPNothingOpens float64 `json:"simulated_p_nothing_opens"`
	MeetsBar               bool    `json:"meets_bar"`
	Alarms                 int     `json:"alarms"`
	// FirstAlarmSeconds is the time from the attack's start to its site's
	// first guessing alarm (max over attackers; -1 if an attack raised none).
	FirstAlarmSeconds float64 `json:"first_alarm_seconds"`
	// RecipientsDelayed is how many real recipients at attacked sites the
	// guard's delays held up, and by how long, in minutes.
	RecipientsDelayed uint64      `json:"recipients_delayed"`
	RecipientDelay    Percentiles `json:"recipient_delay_minutes"`
	// ElsewhereDelayed and ElsewhereDelay are the same at sites no
	// attacker visited, where only recipients' own failed attempts (typos,
	// replayed codes) fill the guard's budget.
	ElsewhereDelayed uint64      `json:"elsewhere_recipients_delayed"`
	ElsewhereDelay   Percentiles `json:"elsewhere_recipient_delay_minutes"`
}

// AuditSummary is the audit chains' verification at the end.
type AuditSummary struct {
	Streams int   `json:"streams"`
	Events  int64 `json:"events"`
	OK      bool  `json:"ok"`
}

// Hourly are the chart series, one value per simulated hour.
type Hourly struct {
	Series    map[string][]float64 `json:"series"`
	Occupancy []float64            `json:"occupancy"`
	AttackOcc []float64            `json:"attacked_site_occupancy"`
	AlarmsCum []float64            `json:"guessing_alarms_cumulative"`
	// WallSeconds spent on each simulated hour (throughput in real time).
	WallSeconds []float64 `json:"wall_seconds"`
}

// Err returns the run's invariant violations as an error, or nil.
func (s *Summary) Err() error { return s.Invariants.Err() }

func (w *World) summary(ctx context.Context, seed, run, total time.Duration, rep *audit.Report) *Summary {
	st := w.stats
	s := &Summary{Config: w.cfg, Engine: w.opts.Engine, SimStart: w.start, SimEnd: w.start.Add(w.cfg.Duration()),
		Ticks: st.ticks, TicksSkipped: st.ticksSkip, Latency: map[string]Percentiles{}}
	s.Network = NetworkSummary{Sites: len(w.sites), Compartments: w.totalComp, BySize: map[string]int{}}
	for _, site := range w.sites {
		for i, n := range site.bySize {
			s.Network.BySize[string(parcelguard.SizeClasses[i])] += n
		}
		s.Network.Largest = max(s.Network.Largest, site.compartments)
	}
	calls := int64(0)
	for _, name := range st.opNames() {
		p := st.ops[name].percentiles(time.Millisecond)
		s.Latency[name] = p
		calls += int64(p.Count)
	}
	s.Wall = WallSummary{SeedSeconds: seed.Seconds(), RunSeconds: run.Seconds(), TotalSeconds: total.Seconds(),
		ParcelsPerSecond: float64(st.total(sArrived)) / run.Seconds(), ServiceCallsPerSecond: float64(calls) / run.Seconds(),
		PeakRSSBytes: peakRSS(), GoHeapBytes: goHeap(), LoadAverage: loadAverage(), GoMaxProcs: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		SimulatedDays: w.cfg.Duration().Hours() / 24}
	s.Parcels = ParcelSummary{Arrived: st.total(sArrived), Deposited: st.total(sDeposited), PickedUp: st.total(sPickedUp),
		Expired: st.total(sExpired), Collected: st.total(sCollected), Returned: st.total(sReturned), Reminded: st.total(sReminded),
		DeferredRounds: st.total(sDeferred), LateRefused: st.total(sLateRefused),
		Typos: st.total(sTypos), Replays: st.total(sReplays)}
	for i := range w.parcels {
		p := &w.parcels[i]
		switch p.state {
		case pNew, pAnnounced, pReserved:
			s.Parcels.NeverDeposited++
		case pDeposited, pExpired:
			s.Parcels.StillInLocker++
		}
		if p.has(fNever) {
			s.Parcels.RecipientsNever++
		}
	}
	s.Notifications = st.total(sNotified)
	s.ConflictRetries = st.conflictRetries.Load()
	s.Dwell = st.dwell.percentiles(time.Hour)
	s.WaitForLocker = st.wait.percentiles(time.Hour)
	s.Occupancy = OccupancySummary{Peak: st.peakOcc}
	if st.nOcc > 0 {
		s.Occupancy.Mean = st.sumOcc / float64(st.nOcc)
	}
	s.Alarms.Guessing = int(counterValue(w.mets.GuardAlarms))
	s.Alarms.NotificationsDead = w.deadMessages(ctx)
	s.Attack = w.attackSummary()
	s.Alarms.GuessingAtAttack = s.Attack.Alarms
	s.Audit = AuditSummary{Streams: rep.Streams, Events: rep.Events, OK: rep.OK()}
	w.reportActors(s)
	s.Invariants = w.checks.summary()

	hours := int(math.Ceil(w.cfg.Duration().Hours()))
	s.Hourly = Hourly{Series: map[string][]float64{}, Occupancy: st.occupancy[:hours], AttackOcc: st.attackOcc[:hours],
		AlarmsCum: st.alarmsCum[:hours], WallSeconds: st.wallPerHr[:hours]}
	for k := range nSeries {
		s.Hourly.Series[seriesNames[k]] = st.hourly(k, hours)
	}
	return s
}

func (w *World) attackSummary() AttackSummary {
	a := AttackSummary{Attackers: len(w.attacks), FirstAlarmSeconds: -1}
	largest := 0
	var sumP float64
	allAlarmed := len(w.attacks) > 0
	var slowest time.Duration
	for _, at := range w.attacks {
		largest = max(largest, at.site.compartments)
		a.Guesses += at.guesses
		a.Blocked += at.blocked
		a.Opened += at.successes
		a.Alarms += at.alarms
		sumP += math.Exp(at.logNothing)
		if at.firstAlarm.IsZero() {
			allAlarmed = false
		} else {
			slowest = max(slowest, at.firstAlarm.Sub(at.from))
		}
	}
	if allAlarmed {
		a.FirstAlarmSeconds = slowest.Seconds()
	}
	if n := len(w.attacks); n > 0 {
		a.GuessesPerAttacker = float64(a.Guesses) / float64(n)
		a.SimulatedPNothingOpens = sumP / float64(n)
	} else {
		a.SimulatedPNothingOpens = 1
	}
	if largest == 0 {
		for _, s := range w.sites {
			largest = max(largest, s.compartments)
		}
	}
	a.Bound = Bound(largest, parcelguard.DefaultStoragePeriod, true)
	a.MeetsBar = a.Bound.MeetsBar && a.SimulatedPNothingOpens >= Bar
	a.RecipientDelay = w.stats.recipDelay.percentiles(time.Minute)
	a.RecipientsDelayed = a.RecipientDelay.Count
	a.ElsewhereDelay = w.stats.recipDelayQuiet.percentiles(time.Minute)
	a.ElsewhereDelayed = a.ElsewhereDelay.Count
	return a
}

// deadMessages counts outbox messages given up.
func (w *World) deadMessages(ctx context.Context) int {
	var ms []*parcelguard.Message
	_ = w.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		ms, err = tx.Messages(ctx, parcelguard.MessageFilter{State: parcelguard.MessageDead, Limit: 10000})
		return err
	})
	return len(ms)
}

// peakRSS reads the process's peak resident set size from /proc.
func peakRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

// loadAverage reads the 1-minute load average from /proc (0 if missing).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, err := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	if err != nil {
		return 0
	}
	return f
}

// goHeap reads the Go heap's current size.
func goHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		return s[0].Value.Uint64()
	}
	return 0
}
