package bench

import (
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Ensure a run's doorstep zone puts its start near noon whatever the hour,
// so that no delivery day ends while it runs, and that the zone passes the
// doorstep's own validation.
func TestMiddayZone(t *testing.T) {
	day := time.Date(2026, 11, 21, 0, 30, 0, 0, time.UTC)
	for h := range 24 {
		start := day.Add(time.Duration(h) * time.Hour)
		name := middayZone(start)
		loc, err := parcelguard.LoadZone("time_zone", name)
		if err != nil {
			t.Fatalf("%s: zone %q: %v", start.Format(time.TimeOnly), name, err)
		}
		if local := start.In(loc); local.Hour() != 12 {
			t.Errorf("%s UTC is %s in %s, want about noon", start.Format(time.TimeOnly), local.Format(time.TimeOnly), name)
		}
	}
}
