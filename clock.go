package parcelguard

import "time"

// Clock tells the time. Everything that reads the time takes a Clock so tests
// and the simulator can move days in milliseconds.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current UTC time.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
