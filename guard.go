package parcelguard

import (
	"errors"
	"fmt"
	"time"
)

// LockerGuard is a site's failure budget against code guessing (SECURITY.md
// 8–9), a leaky bucket: every failed attempt raises its level by one, and
// every GuardLeakInterval of quiet lowers it by one again. It lives in the
// store so restarts and parallel sessions share it.
type LockerGuard struct {
	SiteID string
	// Failures is the level as of LastFailure: the failed attempts not yet
	// forgiven by quiet. Level gives the level at any later time.
	Failures int
	// WindowStart is when the level last rose from zero: the start of the
	// current run of failures.
	WindowStart time.Time
	// LastFailure is when the latest failed attempt happened.
	LastFailure time.Time
	// BlockedUntil is when the kiosk accepts the next attempt.
	BlockedUntil time.Time
	// Alarmed is set once the operator alarm for this run of failures was
	// raised; it clears when both the level and the slow level have
	// drained to zero.
	Alarmed bool
	// SlowUntil is when the slow level (see GuardPolicy.SlowLevel) has
	// drained to zero: every failure pushes it one SlowLeak further.
	SlowUntil time.Time
	Version   int64
}

// Guard policy. The first GuardFreeFailures failures cost nothing (people
// mistype); every failure beyond them blocks the kiosk for a delay that
// doubles with the level from GuardMinDelay up to GuardMaxDelay. The
// operator is alarmed when the level reaches GuardAlarmAt. The level drops
// by one per GuardLeakInterval of quiet, counted from the end of the last
// block, so honest mistakes spread over a busy day drain away while a
// guesser who tries again the moment the kiosk allows never drains it.
const (
	GuardFreeFailures = 3
	GuardMinDelay     = 30 * time.Second
	GuardMaxDelay     = time.Hour
	GuardAlarmAt      = 10
	GuardLeakInterval = 10 * time.Minute
)

// Slow guard policy. The level forgives a failure per GuardLeakInterval, so
// a patient guesser who waits that long between tries never raises it and
// never meets a block or the alarm. The slow level counts the same
// failures but forgives one per GuardSlowLeak only; the same operator alarm
// is raised when the slow level exceeds the level by GuardSlowAlarmAt, that
// is when that many failures were forgiven by the level but not yet by the
// slow level. A guesser every 10 minutes gains two thirds of a slow level
// per try and is alarmed at his 11th failure, while honest mistakes at a
// busy locker (about 11 a day, 22 on a double day, spread over the opening
// hours) drain away between them (TestLockerGuardSlowModel). A fast
// guesser raises both levels alike, so he is alarmed at AlarmAt as before;
// blocks follow the level alone, so MaxGuesses is unchanged.
const (
	GuardSlowLeak    = 30 * time.Minute
	GuardSlowAlarmAt = 7
)

// GuardPolicy is the locker guard's parameters; DefaultGuardPolicy holds
// the constants above. It exists so the attack bound (MaxGuesses) can be
// computed, and tested, for any policy.
type GuardPolicy struct {
	// FreeFailures is the level up to which a failure imposes no delay.
	FreeFailures int
	// MinDelay is the delay at level FreeFailures+1; each further level
	// doubles it, up to MaxDelay.
	MinDelay, MaxDelay time.Duration
	// AlarmAt is the level at which the operator is alarmed.
	AlarmAt int
	// Leak is the quiet after which the level drops by one.
	Leak time.Duration
	// SlowLeak is the time after which the slow level drops by one, and
	// SlowAlarmAt how far the slow level must exceed the level to alarm
	// the operator. Zero for both turns the slow detector off.
	SlowLeak    time.Duration
	SlowAlarmAt int
}

// DefaultGuardPolicy is the policy every locker uses.
var DefaultGuardPolicy = GuardPolicy{
	FreeFailures: GuardFreeFailures,
	MinDelay:     GuardMinDelay,
	MaxDelay:     GuardMaxDelay,
	AlarmAt:      GuardAlarmAt,
	Leak:         GuardLeakInterval,
	SlowLeak:     GuardSlowLeak,
	SlowAlarmAt:  GuardSlowAlarmAt,
}

// Validate reports a policy that cannot work: durations must be positive
// whole seconds (MaxGuesses steps through time in their common divisor)
// and the alarm must come after the free failures.
func (p GuardPolicy) Validate() error {
	var errs []error
	if p.FreeFailures < 0 {
		errs = append(errs, errors.New("free failures must not be negative"))
	}
	if p.AlarmAt <= p.FreeFailures {
		errs = append(errs, errors.New("the alarm level must exceed the free failures"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"min delay", p.MinDelay}, {"max delay", p.MaxDelay}, {"leak interval", p.Leak}} {
		if d.v < time.Second || d.v%time.Second != 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive whole number of seconds, got %v", d.name, d.v))
		}
	}
	if p.SlowLeak != 0 || p.SlowAlarmAt != 0 { // zero for both: no slow detector
		if p.SlowLeak < time.Second || p.SlowLeak%time.Second != 0 {
			errs = append(errs, fmt.Errorf("slow leak interval must be a positive whole number of seconds, got %v", p.SlowLeak))
		}
		if p.SlowAlarmAt < 1 {
			errs = append(errs, errors.New("the slow alarm level must be positive"))
		}
	}
	if p.MaxDelay < p.MinDelay {
		errs = append(errs, errors.New("max delay must not be below min delay"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid guard policy: %w", errors.Join(errs...))
	}
	return nil
}

// Delay is the block a failure that brings the guard to level imposes.
func (p GuardPolicy) Delay(level int) time.Duration {
	over := level - p.FreeFailures
	if over <= 0 {
		return 0
	}
	d := p.MinDelay
	for i := 1; i < over && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// Level is g's level at now: Failures less one per full Leak of quiet
// since the later of the last failure and the end of its block. Time spent
// blocked is not quiet, so a guesser who always tries again the moment
// the block ends keeps the level.
func (p GuardPolicy) Level(g *LockerGuard, now time.Time) int {
	if g.Failures <= 0 {
		return 0
	}
	if p.Leak <= 0 { // an invalid policy never drains rather than divide by zero
		return g.Failures
	}
	from := g.LastFailure
	if g.BlockedUntil.After(from) {
		from = g.BlockedUntil
	}
	if !now.After(from) {
		return g.Failures
	}
	drained := now.Sub(from) / p.Leak
	if drained >= time.Duration(g.Failures) {
		return 0
	}
	return g.Failures - int(drained)
}

// SlowLevel is g's slow level at now: the failures not yet forgiven at
// one per SlowLeak, a part-forgiven failure counting whole. Blocked time
// counts as drained here; the slow level only alarms, it never blocks.
func (p GuardPolicy) SlowLevel(g *LockerGuard, now time.Time) int {
	if p.SlowLeak <= 0 || !g.SlowUntil.After(now) {
		return 0
	}
	left := g.SlowUntil.Sub(now)
	return int((left + p.SlowLeak - 1) / p.SlowLeak)
}

// Fail records one failed attempt at now under p. It returns the delay
// imposed and whether this failure raises the operator alarm: the level
// reached AlarmAt or the slow level exceeds it by SlowAlarmAt, once per run (a
// run ends when both have drained to zero). The block never ends later
// than now+MaxDelay, so nobody waits longer than the cap for one answer.
func (p GuardPolicy) Fail(g *LockerGuard, now time.Time) (delay time.Duration, alarm bool) {
	level := p.Level(g, now)
	if level == 0 && p.SlowLevel(g, now) == 0 {
		g.WindowStart, g.Alarmed = now, false
	}
	level++
	g.Failures, g.LastFailure = level, now
	if delay = p.Delay(level); delay > 0 && now.Add(delay).After(g.BlockedUntil) {
		g.BlockedUntil = now.Add(delay)
	}
	slow := 0
	if p.SlowLeak > 0 {
		g.SlowUntil = later(g.SlowUntil, now).Add(p.SlowLeak)
		slow = p.SlowLevel(g, now)
	}
	if (level >= p.AlarmAt || p.SlowAlarmAt > 0 && slow-level >= p.SlowAlarmAt) && !g.Alarmed {
		g.Alarmed, alarm = true, true
	}
	return delay, alarm
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Blocked returns how long the kiosk must still wait at now, or zero.
func (g *LockerGuard) Blocked(now time.Time) time.Duration {
	if now.Before(g.BlockedUntil) {
		return g.BlockedUntil.Sub(now)
	}
	return 0
}

// SlowLevel is g's slow level at now under the default policy.
func (g *LockerGuard) SlowLevel(now time.Time) int { return DefaultGuardPolicy.SlowLevel(g, now) }

// Level is g's level at now under the default policy.
func (g *LockerGuard) Level(now time.Time) int { return DefaultGuardPolicy.Level(g, now) }

// Fail records one failed attempt at now under the default policy (see
// GuardPolicy.Fail).
func (g *LockerGuard) Fail(now time.Time) (delay time.Duration, alarm bool) {
	return DefaultGuardPolicy.Fail(g, now)
}
