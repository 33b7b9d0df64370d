package devicemsg

import (
	"fmt"
	"time"
)

// Timestamps must lie in this range. It keeps JSON encoding total (Go
// cannot encode years past 9999) and turns a locker with a dead RTC battery
// (1970) into a visible error instead of a silently misordered event.
var (
	minTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkTime reports a malformed error unless t lies in [minTime, maxTime).
func checkTime(field string, t time.Time) error {
	if t.Before(minTime) || !t.Before(maxTime) {
		return fmt.Errorf("%w: %s must be between %s and %s", ErrMalformed, field, minTime.Format(time.DateOnly), maxTime.Format(time.DateOnly))
	}
	return nil
}
