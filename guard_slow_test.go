package parcelguard_test

import (
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Ensure the slow level counts every failure, forgives one per slow leak
// counted from the failures themselves (a part-forgiven one counts whole),
// and that blocked time drains it too.
func TestLockerGuardSlowLevel(t *testing.T) {
	const slow = parcelguard.GuardSlowLeak
	tests := []struct {
		name     string
		gaps     []time.Duration // before each failure after the first
		after    time.Duration   // from the last failure
		want     int
		wantFast int
	}{
		{"OneFailure", nil, 0, 1, 1},
		{"OneFailureJustBeforeForgiven", nil, slow - time.Second, 1, 0},
		{"OneFailureForgiven", nil, slow, 0, 0},
		{"ThreeAtOnce", []time.Duration{0, 0}, 0, 3, 3},
		{"ThreeAtOnceOneForgiven", []time.Duration{0, 0}, slow, 2, 0},
		{"PatientTenMinutes", []time.Duration{10 * time.Minute, 10 * time.Minute}, 0, 3, 1},
		{"PatientSlowLeakApart", []time.Duration{slow, slow}, 0, 1, 1},
		{"FullyDrained", []time.Duration{0, 0, 0}, 4 * slow, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &parcelguard.LockerGuard{SiteID: "s"}
			now := guardT0
			g.Fail(now)
			for _, gap := range tt.gaps {
				now = now.Add(gap)
				g.Fail(now)
			}
			now = now.Add(tt.after)
			if got := g.SlowLevel(now); got != tt.want {
				t.Fatalf("slow level %d, want %d", got, tt.want)
			}
			if got := g.Level(now); got != tt.wantFast {
				t.Fatalf("level %d, want %d", got, tt.wantFast)
			}
		})
	}
}

// failAt runs failures at the given offsets from guardT0 (waiting out any
// block first) and returns the 1-based failure that raised the alarm (0
// for none), how many alarms were raised, and the highest slow excess
// (slow level less level) seen.
func failAt(offsets []time.Duration) (alarmAt, alarms, maxExcess int) {
	g := &parcelguard.LockerGuard{SiteID: "s"}
	for i, off := range offsets {
		now := guardT0.Add(off)
		if w := g.Blocked(now); w > 0 {
			now = now.Add(w)
		}
		_, alarm := g.Fail(now)
		if alarm {
			alarms++
			if alarmAt == 0 {
				alarmAt = i + 1
			}
		}
		maxExcess = max(maxExcess, g.SlowLevel(now)-g.Level(now))
	}
	return alarmAt, alarms, maxExcess
}

// every returns n offsets gap apart starting at from.
func every(from, gap time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = from + time.Duration(i)*gap
	}
	return out
}

// bursts returns n bursts of three failures a minute apart (a typo, the
// typo retyped, a replayed code), gap apart starting at from.
func bursts(from, gap time.Duration, n int) []time.Duration {
	var out []time.Duration
	for _, b := range every(from, gap, n) {
		out = append(out, b, b+time.Minute, b+2*time.Minute)
	}
	return out
}

func concat(parts ...[]time.Duration) []time.Duration {
	var out []time.Duration
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Ensure the patient guesser the level never catches (one guess per leak
// interval, never blocked) is alarmed within 11 failures, once, and keeps
// guessing unblocked: the slow detector only alarms. A 72 h attack at that
// pace (433 guesses) raises exactly one alarm.
func TestLockerGuardPatientAttackerAlarmed(t *testing.T) {
	const within = 11
	for _, tt := range []struct {
		gap    time.Duration
		within int
	}{{parcelguard.GuardLeakInterval, within}, {parcelguard.GuardLeakInterval + time.Second, within}, {12 * time.Minute, 12}} {
		at, alarms, _ := failAt(every(0, tt.gap, int(72*time.Hour/tt.gap)+1))
		if at == 0 || at > tt.within || alarms != 1 {
			t.Errorf("a guess every %v: alarmed at failure %d (%d alarms), want one alarm within %d", tt.gap, at, alarms, tt.within)
		}
	}
	g := &parcelguard.LockerGuard{SiteID: "s"}
	for i := range within {
		if d, _ := g.Fail(guardT0.Add(time.Duration(i) * parcelguard.GuardLeakInterval)); d != 0 {
			t.Fatalf("failure %d: blocked for %v", i+1, d)
		}
	}
}

// Ensure the fastest guesser is still alarmed at AlarmAt, not earlier by
// the slow detector: both levels rise alike.
func TestLockerGuardSlowSparesFastAlarm(t *testing.T) {
	at, alarms, _ := failAt(make([]time.Duration, 30))
	if at != parcelguard.GuardAlarmAt || alarms != 1 {
		t.Fatalf("alarmed at failure %d (%d alarms), want once at %d", at, alarms, parcelguard.GuardAlarmAt)
	}
}

// The model behind GuardSlowLeak and GuardSlowAlarmAt: honest days at a
// busy locker (opening hours 08:00–20:00, about 11 wrong codes a day, 22 on
// a double day) never alarm, with the highest slow excess each reaches
// kept at least two below the alarm, while patient guessers are alarmed
// within a dozen failures.
func TestLockerGuardSlowModel(t *testing.T) {
	const h = time.Hour
	honest := []struct {
		name      string
		offsets   []time.Duration
		maxExcess int // documents the margin to GuardSlowAlarmAt
	}{
		{"Busy11Even", every(0, 12*h/11, 11), 0},
		{"Double22Even", every(0, 12*h/22, 22), 0},
		{"Double22Bursts", concat(bursts(0, 12*h/7, 7), every(11*h, 0, 1)), 2},
		// Half the double day in the evening rush 17:00–20:00.
		{"Double22Rush", concat(every(0, 9*h/11, 11), every(9*h, 3*h/11, 11)), 5},
		// The rush as bursts: four bursts in two hours.
		{"Double22RushBursts", concat(every(0, 9*h/10, 10), bursts(9*h, 40*time.Minute, 4)), 5},
		// Two double days back to back, overnight quiet between.
		{"TwoDoubleDays", concat(every(0, 12*h/22, 22), every(24*h, 12*h/22, 22)), 0},
	}
	for _, tt := range honest {
		t.Run(tt.name, func(t *testing.T) {
			at, _, excess := failAt(tt.offsets)
			if at != 0 {
				t.Fatalf("honest day alarmed at failure %d", at)
			}
			if excess != tt.maxExcess || excess > parcelguard.GuardSlowAlarmAt-2 {
				t.Fatalf("highest slow excess %d, want %d (alarm at %d)", excess, tt.maxExcess, parcelguard.GuardSlowAlarmAt)
			}
		})
	}
	attackers := []struct {
		name    string
		offsets []time.Duration
		within  int
	}{
		{"Every10Min", every(0, 10*time.Minute, 100), 11},
		{"Every15Min", every(0, 15*time.Minute, 100), 16},
		// Bursts of three free guesses, then quiet until the level
		// drained: the bursts raise the level too, so this takes longer.
		{"ThreeEvery30Min", bursts(0, 30*time.Minute, 40), 21},
	}
	for _, tt := range attackers {
		t.Run(tt.name, func(t *testing.T) {
			if at, alarms, _ := failAt(tt.offsets); at == 0 || at > tt.within || alarms != 1 {
				t.Fatalf("alarmed at failure %d (%d alarms), want once within %d", at, alarms, tt.within)
			}
		})
	}
}
