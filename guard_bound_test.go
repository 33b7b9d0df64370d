package parcelguard_test

import (
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"pgregory.net/rapid"
)

// Ensure SECURITY.md 9 for the default policy: at a large full locker
// (200 compartments, every one with an active grant, the phone factor on)
// no pacing of guesses over a whole storage period opens anything with
// probability below 99.99 %, and the fastest pace is alarmed by its 10th
// failure. Without the phone factor the same locker misses the bar: the
// computation must be able to say so.
func TestGuessingBar(t *testing.T) {
	const compartments = 200
	l := maxGuesses(t, parcelguard.DefaultGuardPolicy, parcelguard.DefaultStoragePeriod)
	if l.AlarmAt == 0 || l.AlarmAt > 10 {
		t.Errorf("fastest pace alarmed at guess %d, want within 10", l.AlarmAt)
	}
	if l.Max < l.Fastest || l.Max < l.Unalarmed {
		t.Errorf("max %d below the fastest %d or unalarmed %d pace", l.Max, l.Fastest, l.Unalarmed)
	}
	p := parcelguard.PNothingOpens(l.Max, compartments, true)
	if p < parcelguard.GuessingBar {
		t.Errorf("%+v in %v: P(nothing opens) = %.7f, want >= %v", l, parcelguard.DefaultStoragePeriod, p, parcelguard.GuessingBar)
	}
	if np := parcelguard.PNothingOpens(l.Max, compartments, false); np >= parcelguard.GuessingBar {
		t.Errorf("without the phone factor P(nothing opens) = %.7f, should miss the bar", np)
	}
	t.Logf("72 h: %+v; P(nothing opens) at %d compartments = %.7f", l, compartments, p)
}

// maxGuesses is parcelguard.MaxGuesses for a policy that must be valid.
func maxGuesses(t interface {
	Helper()
	Fatalf(string, ...any)
}, p parcelguard.GuardPolicy, period time.Duration) parcelguard.GuessLimit {
	t.Helper()
	l, err := parcelguard.MaxGuesses(p, period)
	if err != nil {
		t.Fatalf("MaxGuesses(%+v, %v): %v", p, period, err)
	}
	return l
}

// Ensure an invalid policy has no bound rather than a misleading one.
func TestMaxGuessesInvalidPolicy(t *testing.T) {
	p := parcelguard.DefaultGuardPolicy
	p.Leak = 0
	if l, err := parcelguard.MaxGuesses(p, time.Hour); err == nil {
		t.Fatalf("invalid policy bounded at %+v", l)
	}
}

// Ensure the limits of short periods, worked out by hand for the default
// policy: three free guesses, then 30 s, 1, 2, 4, 8, 16 min blocks;
// draining a level takes 10 min of quiet after the block.
func TestMaxGuessesTable(t *testing.T) {
	p := parcelguard.DefaultGuardPolicy
	tests := []struct {
		period time.Duration
		want   parcelguard.GuessLimit
	}{
		{0, parcelguard.GuessLimit{}},
		{-time.Hour, parcelguard.GuessLimit{}},
		{time.Second, parcelguard.GuessLimit{Max: 4, Fastest: 4, Unalarmed: 4}},
		// Guesses at 0, 0, 0, 0, 30 s, 1:30, 3:30, 7:30.
		{10 * time.Minute, parcelguard.GuessLimit{Max: 8, Fastest: 8, Unalarmed: 8}},
		// ... 15:30, 31:30 (the 10th, alarmed). Ten without the alarm:
		// seven by 3:30, 10 min of quiet after that block, then 17:30,
		// 21:30, 29:30 at levels 7, 8, 9.
		{32 * time.Minute, parcelguard.GuessLimit{Max: 10, Fastest: 10, AlarmAt: 10, Unalarmed: 10}},
	}
	for _, tt := range tests {
		if got := maxGuesses(t, p, tt.period); got != tt.want {
			t.Errorf("MaxGuesses(%v) = %+v, want %+v", tt.period, got, tt.want)
		}
	}
}

// Ensure a patient attacker is what bounds a long period: one guess per
// leak interval at the top of the free budget beats the fastest pace, and
// the search finds at least that many guesses (and no more than one per
// leak interval plus a final burst).
func TestMaxGuessesPatient(t *testing.T) {
	p := parcelguard.DefaultGuardPolicy
	period := parcelguard.DefaultStoragePeriod
	l := maxGuesses(t, p, period)
	patient := patientGuesses(p, period)
	if l.Max < patient || l.Unalarmed < patient {
		t.Fatalf("%+v below the patient attacker's %d", l, patient)
	}
	perLeak := int(period / p.Leak)
	if l.Max > perLeak+p.AlarmAt+2 {
		t.Fatalf("%+v: more than one guess per leak interval (%d) and a burst", l, perLeak)
	}
	if l.Fastest >= patient {
		t.Fatalf("fastest %d >= patient %d: the patient pace should win over 72 h", l.Fastest, patient)
	}
}

// patientGuesses runs the real guard with an attacker who spends the free
// budget, then guesses each time one level has drained.
func patientGuesses(p parcelguard.GuardPolicy, period time.Duration) int {
	g := &parcelguard.LockerGuard{}
	now := guardT0
	end := now.Add(period)
	n := 0
	for now.Before(end) {
		if lv := p.Level(g, now); lv >= p.FreeFailures {
			now = now.Add(p.Leak)
			continue
		}
		p.Fail(g, now)
		n++
	}
	return n
}

// Ensure no pacing beats the bound: random policies, periods and
// attackers (each waiting out the block and then some random quiet) run
// against the real guard never make more guesses than Max, nor more than
// Unalarmed without raising the alarm; and the fastest pace is no more
// than Max.
func TestMaxGuessesProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := parcelguard.GuardPolicy{
			FreeFailures: rapid.IntRange(0, 4).Draw(t, "free"),
			MinDelay:     time.Duration(rapid.IntRange(1, 60).Draw(t, "minDelay")) * time.Second,
			Leak:         time.Duration(rapid.IntRange(1, 30*60).Draw(t, "leak")) * time.Second,
		}
		p.MaxDelay = p.MinDelay << rapid.IntRange(0, 7).Draw(t, "doublings")
		p.AlarmAt = p.FreeFailures + rapid.IntRange(1, 8).Draw(t, "alarmAfterFree")
		period := time.Duration(rapid.IntRange(1, 6*60).Draw(t, "periodMinutes")) * time.Minute
		l := maxGuesses(t, p, period)
		if l.Fastest > l.Max || l.Unalarmed > l.Max {
			t.Fatalf("%+v", l)
		}
		g := &parcelguard.LockerGuard{}
		now := guardT0
		end := now.Add(period)
		n, alarmed := 0, false
		for {
			now = now.Add(g.Blocked(now))
			if rapid.Bool().Draw(t, "wait") {
				now = now.Add(time.Duration(rapid.Int64Range(0, int64(3*p.Leak)).Draw(t, "quiet")))
			}
			if !now.Before(end) {
				break
			}
			_, a := p.Fail(g, now)
			alarmed = alarmed || a
			n++
		}
		if n > l.Max {
			t.Fatalf("an attacker made %d guesses, bound %+v", n, l)
		}
		if !alarmed && n > l.Unalarmed {
			t.Fatalf("an unalarmed attacker made %d guesses, bound %+v", n, l)
		}
	})
}

// Ensure the odds: nothing opens with certainty without guesses or
// grants, the phone factor divides the odds by 10^4, and the union bound
// never goes below zero.
func TestPNothingOpens(t *testing.T) {
	tests := []struct {
		guesses, active int
		phone           bool
		want            float64
	}{
		{0, 200, true, 1},
		{1000, 0, false, 1},
		{1000, 200, false, 0.8},
		{1000, 200, true, 1 - 2e-5},
		{10_000, 1_000_000, false, 0},
	}
	for _, tt := range tests {
		got := parcelguard.PNothingOpens(tt.guesses, tt.active, tt.phone)
		if d := got - tt.want; d > 1e-12 || d < -1e-12 {
			t.Errorf("PNothingOpens(%d, %d, %v) = %v, want %v", tt.guesses, tt.active, tt.phone, got, tt.want)
		}
	}
}
