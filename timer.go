package parcelguard

import "time"

// TimerKind names what a timer does when it fires.
type TimerKind string

// Timer kinds.
const (
	// TimerExpiry ends a parcel's storage at its deadline.
	TimerExpiry TimerKind = "expiry"
	// TimerReminder reminds the recipient before the deadline.
	TimerReminder TimerKind = "reminder"
)

// Timer is a durable piece of future work: a row with a due time that a
// scheduler claims and fires once, so a restart loses none.
type Timer struct {
	ID       string
	Kind     TimerKind
	ParcelID string
	DueAt    time.Time
}
