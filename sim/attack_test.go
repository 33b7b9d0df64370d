package sim

import (
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Ensure the analytic bound follows the guard policy: at the fastest pace
// the guard allows about 82 guesses in 72 h, alarms by the 10th, and a
// full locker of 200 compartments stays shut with probability >= 99.99 %
// with the phone factor, not without it.
func TestBound(t *testing.T) {
	g, alarm := MaxGuesses(parcelguard.DefaultStoragePeriod)
	if g < 70 || g > 100 {
		t.Errorf("%d guesses in 72 h", g)
	}
	if alarm != parcelguard.GuardAlarmAt {
		t.Errorf("alarm at guess %d, want %d", alarm, parcelguard.GuardAlarmAt)
	}
	if g0, _ := MaxGuesses(0); g0 != 0 {
		t.Errorf("%d guesses in no time", g0)
	}
	if g1, _ := MaxGuesses(time.Second); g1 != parcelguard.GuardFreeFailures+1 {
		t.Errorf("%d guesses in the first second, want the free ones and the first delayed", g1)
	}
	b := Bound(200, parcelguard.DefaultStoragePeriod, true)
	if !b.MeetsBar || b.PNothingOpens < Bar || b.MaxGuesses != g {
		t.Errorf("bound with the phone factor: %+v", b)
	}
	// Without the phone factor a full 200-compartment locker misses the
	// bar: the computation must be able to say so.
	if nb := Bound(200, parcelguard.DefaultStoragePeriod, false); nb.MeetsBar {
		t.Errorf("bound without the phone factor should miss the bar: %+v", nb)
	}
}
