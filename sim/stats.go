package sim

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// series are the per-hour counters of the report's charts.
type series int

const (
	sArrived series = iota
	sDeposited
	sPickedUp
	sExpired
	sCollected
	sReturned
	sDeferred
	sReminded
	sNotified
	sGuesses
	sAttackBlocked
	sLateRefused
	sServiceCalls
	sTypos
	sReplays
	nSeries
)

var seriesNames = [nSeries]string{"arrived", "deposited", "picked_up", "expired", "collected", "returned",
	"deferred", "reminded", "notified", "attacker_guesses", "attacker_blocked", "late_refused", "service_calls", "typos", "replays"}

// stats collects what the report shows.
type stats struct {
	start time.Time
	hours int
	per   [nSeries][]atomic.Int64

	// Main loop only.
	occupancy  []float64 // share of compartments in use at the end of each hour
	attackOcc  []float64 // the same at the attacked sites
	alarmsCum  []float64 // guessing alarms raised so far, at the end of each hour
	wallPerHr  []float64 // wall seconds spent on each simulated hour
	peakOcc    float64
	sumOcc     float64
	nOcc       int
	ticks      int
	ticksSkip  int
	opsMu      sync.Mutex
	ops        map[string]*hist
	dwell      hist // deposit → pickup, simulated time
	wait       hist // announce → deposit, simulated time
	recipDelay hist // guard delays a recipient sat through at an attacked site
	// recipDelayQuiet is the same at sites no attacker visited: delays
	// that recipients' own typos (and replayed codes) brought on.
	recipDelayQuiet hist
	totals          [nSeries]atomic.Int64
	// conflictRetries counts calls repeated after ErrConflict.
	conflictRetries atomic.Int64
}

func newStats(start time.Time, span time.Duration) *stats {
	h := int(span/time.Hour) + 2
	s := &stats{start: start, hours: h, ops: map[string]*hist{},
		occupancy: make([]float64, h), attackOcc: make([]float64, h), alarmsCum: make([]float64, h), wallPerHr: make([]float64, h)}
	for i := range s.per {
		s.per[i] = make([]atomic.Int64, h)
	}
	return s
}

func (s *stats) hourOf(t time.Time) int {
	return min(max(int(t.Sub(s.start)/time.Hour), 0), s.hours-1)
}

// count adds n to series k in the hour of t.
func (s *stats) count(k series, t time.Time, n int64) {
	s.per[k][s.hourOf(t)].Add(n)
	s.totals[k].Add(n)
}

func (s *stats) total(k series) int64 { return s.totals[k].Load() }

// op records one service call's wall latency.
func (s *stats) op(name string, d time.Duration) {
	s.opsMu.Lock()
	h := s.ops[name]
	if h == nil {
		h = &hist{}
		s.ops[name] = h
	}
	s.opsMu.Unlock()
	h.add(d)
}

// opNames lists the recorded operations in name order.
func (s *stats) opNames() []string {
	s.opsMu.Lock()
	defer s.opsMu.Unlock()
	out := make([]string, 0, len(s.ops))
	for k := range s.ops {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// hourly returns series k hour by hour, up to hours.
func (s *stats) hourly(k series, hours int) []float64 {
	out := make([]float64, hours)
	for i := range out {
		out[i] = float64(s.per[k][i].Load())
	}
	return out
}
