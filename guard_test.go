package parcelguard_test

import (
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"pgregory.net/rapid"
)

var guardT0 = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

// Ensure the delay is free up to the budget, then doubles from 30 s and
// stays at the 1 h cap.
func TestGuardPolicyDelay(t *testing.T) {
	p := parcelguard.DefaultGuardPolicy
	tests := []struct {
		level int
		want  time.Duration
	}{
		{-1, 0}, {0, 0}, {1, 0}, {3, 0},
		{4, 30 * time.Second}, {5, time.Minute}, {6, 2 * time.Minute}, {9, 16 * time.Minute},
		{10, 32 * time.Minute}, {11, time.Hour}, {12, time.Hour}, {1000, time.Hour},
	}
	for _, tt := range tests {
		if got := p.Delay(tt.level); got != tt.want {
			t.Errorf("Delay(%d) = %v, want %v", tt.level, got, tt.want)
		}
	}
}

// Ensure a guesser who tries again the moment each block ends gets the
// doubling delays up to the cap, never drains the level (blocked time is
// not quiet), and raises the alarm exactly once, at the 10th failure.
func TestLockerGuardFastestPace(t *testing.T) {
	wantDelays := []time.Duration{0, 0, 0, 30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute,
		8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour, time.Hour, time.Hour}
	g := &parcelguard.LockerGuard{SiteID: "s"}
	now := guardT0
	alarms := 0
	for i, want := range wantDelays {
		if wait := g.Blocked(now); wait != 0 {
			t.Fatalf("failure %d: still blocked for %v", i+1, wait)
		}
		delay, alarm := g.Fail(now)
		if delay != want {
			t.Fatalf("failure %d: delay %v, want %v", i+1, delay, want)
		}
		if g.Failures != i+1 || g.Level(now.Add(delay)) != i+1 {
			t.Fatalf("failure %d: level %d (%d after the block), want %d", i+1, g.Failures, g.Level(now.Add(delay)), i+1)
		}
		if alarm {
			alarms++
			if g.Failures != parcelguard.GuardAlarmAt {
				t.Fatalf("alarm at failure %d, want %d", g.Failures, parcelguard.GuardAlarmAt)
			}
		}
		if delay > 0 && g.Blocked(now.Add(delay-time.Nanosecond)) == 0 {
			t.Fatalf("failure %d: not blocked just before the delay ends", i+1)
		}
		now = now.Add(delay)
	}
	if alarms != 1 || !g.Alarmed || !g.WindowStart.Equal(guardT0) {
		t.Fatalf("%d alarms, alarmed %v, window from %v; want 1, true, %v", alarms, g.Alarmed, g.WindowStart, guardT0)
	}
}

// Ensure the level drains by one per full leak interval of quiet, counted
// from the end of the last block, and that what a failure then costs
// follows the drained level.
func TestLockerGuardLeak(t *testing.T) {
	const leak = parcelguard.GuardLeakInterval
	tests := []struct {
		name string
		// failures at guardT0, each after the previous block ended
		failures int
		quiet    time.Duration // after the last block
		level    int
		delay    time.Duration // of one more failure then
	}{
		{"NoneYet", 0, 0, 0, 0},
		{"FreeStaysFree", 3, 0, 3, 30 * time.Second},
		{"PartialIntervalIsNotQuiet", 3, leak - time.Second, 3, 30 * time.Second},
		{"OneInterval", 3, leak, 2, 0},
		{"TwoIntervals", 3, 2 * leak, 1, 0},
		{"DrainedFully", 3, 10 * leak, 0, 0},
		{"HighLevelDrainsSlowly", 12, 2 * leak, 10, time.Hour}, {"HighLevelStepsDown", 12, 4 * leak, 8, 16 * time.Minute},
		{"HighLevelBackToFree", 12, 9 * leak, 3, 30 * time.Second},
		{"HighLevelDrained", 12, 12 * leak, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &parcelguard.LockerGuard{SiteID: "s"}
			now := guardT0
			for range tt.failures {
				d, _ := g.Fail(now)
				now = now.Add(d)
			}
			now = now.Add(tt.quiet)
			if got := g.Level(now); got != tt.level {
				t.Fatalf("level %d, want %d", got, tt.level)
			}
			if d, _ := g.Fail(now); d != tt.delay || g.Failures != tt.level+1 {
				t.Fatalf("next failure: delay %v level %d, want %v and %d", d, g.Failures, tt.delay, tt.level+1)
			}
		})
	}
}

// Ensure the time a kiosk is blocked does not count as quiet: a failure
// that is blocked for 1 h needs a full leak interval after the hour.
func TestLockerGuardBlockIsNotQuiet(t *testing.T) {
	g := &parcelguard.LockerGuard{SiteID: "s", Failures: 10, LastFailure: guardT0, BlockedUntil: guardT0.Add(time.Hour)}
	if lv := g.Level(guardT0.Add(time.Hour + parcelguard.GuardLeakInterval - time.Second)); lv != 10 {
		t.Fatalf("level %d just before one interval after the block, want 10", lv)
	}
	if lv := g.Level(guardT0.Add(time.Hour + parcelguard.GuardLeakInterval)); lv != 9 {
		t.Fatalf("level %d one interval after the block, want 9", lv)
	}
}

// Ensure the alarm is raised once per run of failures: not again while the
// level stays up, again after it drained to zero and climbed back.
func TestLockerGuardAlarmRearms(t *testing.T) {
	g := &parcelguard.LockerGuard{SiteID: "s"}
	now := guardT0
	run := func(n int) (alarms int) {
		for range n {
			d, a := g.Fail(now)
			if a {
				alarms++
			}
			now = now.Add(d)
		}
		return alarms
	}
	if a := run(12); a != 1 {
		t.Fatalf("first run: %d alarms, want 1", a)
	}
	// Drain to 5, climb to 12 again: still the same run.
	now = now.Add(7 * parcelguard.GuardLeakInterval)
	if a := run(7); a != 0 || g.Failures != 12 {
		t.Fatalf("same run: %d alarms at level %d, want 0 at 12", a, g.Failures)
	}
	// A new run starts once both the level and the slow level drained.
	now = now.Add(12 * parcelguard.GuardLeakInterval)
	if g.SlowUntil.After(now) {
		now = g.SlowUntil
	}
	start := now
	if a := run(10); a != 1 || !g.WindowStart.Equal(start) {
		t.Fatalf("new run: %d alarms from %v, want 1 from %v", a, g.WindowStart, start)
	}
}

// Ensure a day of honest mistakes at a busy locker costs nobody a wait: a
// failure every 20 minutes (three times the peak rate of a locker with
// 400 pickups a day, 4 % of them failing) never leaves the free budget.
// (Kept up all day it does alarm the operator: see TestLockerGuardSlowModel
// for the honest days that must not.)
func TestLockerGuardHonestBusyDay(t *testing.T) {
	g := &parcelguard.LockerGuard{SiteID: "s"}
	now := guardT0
	for i := range 24 * 3 {
		if d, _ := g.Fail(now); d != 0 {
			t.Fatalf("failure %d: delay %v at level %d", i+1, d, g.Failures)
		}
		now = now.Add(20 * time.Minute)
	}
	// Bursts of three (a typo, a retyped typo, a replayed code) every
	// 40 minutes also stay free.
	for i := range 24 {
		for j := range 3 {
			if d, _ := g.Fail(now.Add(time.Duration(j) * time.Minute)); d != 0 {
				t.Fatalf("burst %d failure %d: delay %v", i+1, j+1, d)
			}
		}
		now = now.Add(40 * time.Minute)
	}
}

// Ensure the guard's invariants under any sequence of failures and pauses
// (a pause may end inside a block; the service never records a failure
// while blocked, but the policy must stay sane if one is): a wait never
// exceeds the cap, the level is the stored level less whole leak intervals
// of quiet, every failure raises the level by exactly one from there, the
// delay is the policy's for the new level, and the alarm fires exactly when
// the level first reaches the alarm level in a run.
func TestLockerGuardProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := parcelguard.DefaultGuardPolicy
		g := &parcelguard.LockerGuard{SiteID: "s"}
		now := guardT0
		alarmedRun := false
		steps := rapid.IntRange(1, 200).Draw(t, "steps")
		for i := range steps {
			pause := time.Duration(rapid.Int64Range(0, int64(3*time.Hour)).Draw(t, "pause"))
			if rapid.Bool().Draw(t, "waitOutBlock") {
				pause += g.Blocked(now)
			}
			now = now.Add(pause)
			if w := g.Blocked(now); w > p.MaxDelay {
				t.Fatalf("step %d: blocked for %v, over the cap", i, w)
			}
			before := p.Level(g, now)
			if before < 0 || before > g.Failures {
				t.Fatalf("step %d: level %d with %d stored", i, before, g.Failures)
			}
			slowBefore := p.SlowLevel(g, now)
			if before == 0 && slowBefore == 0 {
				alarmedRun = false
			}
			d, alarm := p.Fail(g, now)
			if g.Failures != before+1 || p.Level(g, now) != before+1 {
				t.Fatalf("step %d: level %d -> %d", i, before, g.Failures)
			}
			if d != p.Delay(before+1) {
				t.Fatalf("step %d: delay %v at level %d, want %v", i, d, before+1, p.Delay(before+1))
			}
			if w := g.Blocked(now); w > p.MaxDelay || w < d {
				t.Fatalf("step %d: blocked for %v after a delay of %v", i, w, d)
			}
			slow := p.SlowLevel(g, now)
			if slow != slowBefore+1 {
				t.Fatalf("step %d: slow level %d -> %d", i, slowBefore, slow)
			}
			wantAlarm := (before+1 >= p.AlarmAt || slow-(before+1) >= p.SlowAlarmAt) && !alarmedRun
			if alarm != wantAlarm {
				t.Fatalf("step %d: alarm %v at level %d (run alarmed %v)", i, alarm, before+1, alarmedRun)
			}
			alarmedRun = alarmedRun || alarm
		}
	})
}

// Ensure Validate accepts the default policy and names each broken field.
func TestGuardPolicyValidate(t *testing.T) {
	if err := parcelguard.DefaultGuardPolicy.Validate(); err != nil {
		t.Fatalf("default policy: %v", err)
	}
	tests := []struct {
		name string
		edit func(*parcelguard.GuardPolicy)
	}{
		{"NegativeFree", func(p *parcelguard.GuardPolicy) { p.FreeFailures = -1 }},
		{"AlarmWithinFree", func(p *parcelguard.GuardPolicy) { p.AlarmAt = p.FreeFailures }},
		{"ZeroLeak", func(p *parcelguard.GuardPolicy) { p.Leak = 0 }},
		{"FractionalDelay", func(p *parcelguard.GuardPolicy) { p.MinDelay = 1500 * time.Millisecond }},
		{"CapBelowMin", func(p *parcelguard.GuardPolicy) { p.MaxDelay = p.MinDelay / 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parcelguard.DefaultGuardPolicy
			tt.edit(&p)
			if err := p.Validate(); err == nil {
				t.Fatalf("%+v accepted", p)
			}
		})
	}
}
