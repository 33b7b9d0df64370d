package parcelguard_test

import (
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Ensure the storage period prefers the site's override, then the carrier's.
func TestStoragePeriod(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name    string
		site    *parcelguard.Site
		carrier *parcelguard.Carrier
		want    time.Duration
	}{
		{"Default", &parcelguard.Site{}, &parcelguard.Carrier{}, 72 * time.Hour},
		{"Carrier", &parcelguard.Site{}, &parcelguard.Carrier{StoragePeriod: 2 * day}, 2 * day},
		{"SiteWins", &parcelguard.Site{StoragePeriod: 5 * day}, &parcelguard.Carrier{StoragePeriod: 2 * day}, 5 * day},
		{"Nil", nil, nil, 72 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parcelguard.StoragePeriod(tt.site, tt.carrier); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// Ensure the locker guard lets a few mistakes pass, then doubles its delay
// from 30 s up to 1 h, and alarms exactly once at the 10th failure.
func TestLockerGuard(t *testing.T) {
	start := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	wantDelays := []time.Duration{0, 0, 0, 30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute,
		8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour, time.Hour}
	g := &parcelguard.LockerGuard{SiteID: "s"}
	now := start
	alarms := 0
	for i, want := range wantDelays {
		if wait := g.Blocked(now); wait != 0 {
			t.Fatalf("failure %d: still blocked for %v", i+1, wait)
		}
		delay, alarm := g.Fail(now)
		if delay != want {
			t.Fatalf("failure %d: delay %v, want %v", i+1, delay, want)
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
	if alarms != 1 {
		t.Fatalf("%d alarms, want 1", alarms)
	}
	// After a quiet day the budget starts afresh.
	now = now.Add(parcelguard.GuardQuietPeriod)
	if delay, _ := g.Fail(now); delay != 0 || g.Failures != 1 {
		t.Fatalf("after quiet period: delay %v failures %d, want 0 and 1", delay, g.Failures)
	}
}

// Ensure SECURITY.md 9: an attacker guessing at the fastest rate the guard
// allows for a whole storage period, at a full locker, opens nothing with
// probability >= 99.99 % when the phone factor is on, and the operator is
// alarmed within 10 failures.
func TestGuessingBar(t *testing.T) {
	const compartments = 200 // a large locker, every compartment active
	g := &parcelguard.LockerGuard{SiteID: "s"}
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	end := now.Add(parcelguard.DefaultStoragePeriod)
	guesses, alarmAt := 0, 0
	for now.Before(end) {
		now = now.Add(g.Blocked(now))
		guesses++
		if _, alarm := g.Fail(now); alarm {
			alarmAt = guesses
		}
	}
	// Each guess hits some active PIN with probability compartments/10^6 and
	// then needs the right 4 phone digits (1/10^4).
	pGuess := float64(compartments) / 1e6 / 1e4
	pAny := 1.0
	for range guesses {
		pAny *= 1 - pGuess
	}
	if pAny < 0.9999 {
		t.Fatalf("%d guesses in %v: P(nothing opens) = %.6f, want >= 0.9999", guesses, parcelguard.DefaultStoragePeriod, pAny)
	}
	if alarmAt == 0 || alarmAt > 10 {
		t.Fatalf("alarm raised at guess %d, want within 10", alarmAt)
	}
	t.Logf("%d guesses in 72 h; P(nothing opens) = %.9f; alarm at guess %d", guesses, pAny, alarmAt)
}
