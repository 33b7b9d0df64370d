package sim

import (
	"testing"

	"github.com/parcelguard/parcelguard"
)

// Ensure the simulation's bound is the domain's for the default policy:
// the fastest pace alarms by the 10th guess, the bound covers any pacing,
// and a full locker of 200 compartments stays shut with probability
// >= 99.99 % with the phone factor, not without it.
func TestBound(t *testing.T) {
	l, err := parcelguard.MaxGuesses(parcelguard.DefaultGuardPolicy, parcelguard.DefaultStoragePeriod)
	if err != nil {
		t.Fatal(err)
	}
	b := Bound(200, parcelguard.DefaultStoragePeriod, true)
	if b.MaxGuesses != l.Max || b.FastestGuesses != l.Fastest || b.UnalarmedGuesses != l.Unalarmed || b.AlarmAtGuess != l.AlarmAt {
		t.Errorf("bound %+v, domain limit %+v", b, l)
	}
	if b.AlarmAtGuess != parcelguard.GuardAlarmAt || b.MaxGuesses < b.FastestGuesses {
		t.Errorf("bound %+v: alarm should come at guess %d, max cover the fastest pace", b, parcelguard.GuardAlarmAt)
	}
	if !b.MeetsBar || b.PNothingOpens < Bar || b.PerGuess != 200.0/1e6/1e4 {
		t.Errorf("bound with the phone factor: %+v", b)
	}
	// Without the phone factor a full 200-compartment locker misses the
	// bar: the computation must be able to say so.
	if nb := Bound(200, parcelguard.DefaultStoragePeriod, false); nb.MeetsBar {
		t.Errorf("bound without the phone factor should miss the bar: %+v", nb)
	}
}
