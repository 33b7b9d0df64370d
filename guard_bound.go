package parcelguard

import (
	"math"
	"time"
)

// GuessingBar is SECURITY.md 9's bar: the probability that an attacker
// opens nothing must be at least this.
const GuessingBar = 0.9999

// PINSpace is how many pickup PINs there are (6 decimal digits).
const PINSpace = 1_000_000

// GuessLimit is how many failed guesses a guard policy lets one locker's
// kiosk take in a period, whoever makes them and however they are paced.
type GuessLimit struct {
	// Max is the most guesses any pacing achieves: the attack bound.
	Max int `json:"max"`
	// Fastest is how many guesses an attacker makes who tries again the
	// moment the kiosk allows, and AlarmAt which of them raises the
	// operator alarm (0 if none does).
	Fastest int `json:"fastest"`
	AlarmAt int `json:"alarm_at"`
	// Unalarmed is the most guesses any pacing achieves without ever
	// raising the alarm: a patient attacker's share of Max.
	Unalarmed int `json:"unalarmed"`
}

// MaxGuesses computes the guess limit of policy p over period, starting
// from a quiet guard. The fastest pace runs the policy itself; Max and
// Unalarmed come from an exact search over every pacing (dynamic
// programming over time and level), so they hold for any attacker,
// including one who waits for the level to drain between guesses.
// An invalid policy (Validate) has no bound and is an error.
func MaxGuesses(p GuardPolicy, period time.Duration) (GuessLimit, error) {
	var l GuessLimit
	if err := p.Validate(); err != nil {
		return l, err
	}
	if period <= 0 {
		return l, nil
	}
	l.Fastest, l.AlarmAt = fastestGuesses(p, period)
	l.Max = searchGuesses(p, period, math.MaxInt)
	l.Unalarmed = searchGuesses(p, period, p.AlarmAt-1)
	return l, nil
}

// fastestGuesses runs the guard with a guess the moment each block ends.
func fastestGuesses(p GuardPolicy, period time.Duration) (guesses, alarmAt int) {
	g := &LockerGuard{SiteID: "bound"}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := now.Add(period)
	for {
		now = now.Add(g.Blocked(now))
		if !now.Before(end) {
			return guesses, alarmAt
		}
		guesses++
		if _, alarm := p.Fail(g, now); alarm && alarmAt == 0 {
			alarmAt = guesses
		}
	}
}

// searchGuesses is the most guesses in period over every pacing whose
// level never exceeds ceiling.
//
// The attacker's state between guesses is (t, level): the kiosk is free
// from t on and quiet counts from t. Waiting any time that is not a whole
// number of Leak intervals only delays the next guess without lowering the
// level, so the choices at (t, level) are: guess now, reaching
// (t+Delay(level+1), level+1), or wait one Leak, reaching
// (t+Leak, level-1). f(t, level) = the most guesses from (t, level); it is
// computed backwards from the period's end in steps of the durations'
// greatest common divisor. Levels above the one where the delay reaches
// MaxDelay are counted as that level, which can only overstate f (a
// higher level never helps the attacker), so the bound stays safe.
func searchGuesses(p GuardPolicy, period time.Duration, ceiling int) int {
	unit := gcd(gcd(p.MinDelay, p.MaxDelay), p.Leak)
	top := p.FreeFailures + 1
	for p.Delay(top) < p.MaxDelay {
		top++
	}
	top = max(top, p.AlarmAt) + 1
	if ceiling > top {
		ceiling = top
	}
	steps := int((period + unit - 1) / unit) // guesses happen at t < period
	delay := make([]int, top+1)
	for lv := range delay {
		delay[lv] = int(p.Delay(lv) / unit)
	}
	leak := int(p.Leak / unit)
	// f is a ring of rows, one per step, as far ahead as any move reaches.
	span := max(int(p.MaxDelay/unit), leak) + 1
	f := make([][]int32, span)
	for i := range f {
		f[i] = make([]int32, top+1)
	}
	at := func(t, lv int) int32 {
		if t >= steps {
			return 0
		}
		return f[t%span][lv]
	}
	for t := steps - 1; t >= 0; t-- {
		row := f[t%span]
		// Higher levels first: a free guess moves to level+1 at the same t.
		for lv := top; lv >= 0; lv-- {
			best := int32(0)
			if lv > 0 {
				best = at(t+leak, lv-1)
			}
			if next := min(lv+1, top); next <= ceiling {
				d := delay[next]
				var v int32
				if d == 0 {
					v = 1 + row[next]
				} else {
					v = 1 + at(t+d, next)
				}
				best = max(best, v)
			}
			row[lv] = best
		}
	}
	return int(f[0][0])
}

func gcd(a, b time.Duration) time.Duration {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// GuessOdds is the chance that one random guess opens a compartment at a
// locker with active pickup grants: the PIN must be one of the active PINs
// (unique per locker) and, with the phone factor, the phone digits must
// match that grant's too (1 in 10^PhoneFactorDigits).
func GuessOdds(active int, phoneFactor bool) float64 {
	p := float64(active) / PINSpace
	if phoneFactor {
		p /= math.Pow10(PhoneFactorDigits)
	}
	return p
}

// PNothingOpens is the probability that guesses random guesses open
// nothing at a locker with active pickup grants. It is the union bound
// over the guesses, 1 - guesses×GuessOdds, so it holds whatever the
// attacker learns from earlier refusals (a wrong PIN and wrong phone
// digits get the same answer) and never overstates the attacker's odds.
func PNothingOpens(guesses, active int, phoneFactor bool) float64 {
	return max(0, 1-float64(guesses)*GuessOdds(active, phoneFactor))
}
