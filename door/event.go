package door

import "time"

// Kind names a door event. The values follow the audit event kinds of the
// root package ("door.…", "alarm.…") so the agent can record them as
// parcelguard.EventKind(kind) without a mapping table.
type Kind string

// Door events and alarms.
const (
	// Opened: the door opened after an authorised unlock.
	Opened Kind = "door.opened"
	// Closed: the door closed.
	Closed Kind = "door.closed"
	// SensorRestored: a faulty door sensor reads sensibly again.
	SensorRestored Kind = "door.sensor_restored"
	// TamperCleared: the tamper input went back to rest.
	TamperCleared Kind = "door.tamper_cleared"

	// AccessNotTaken: a door was unlocked but never reported open.
	AccessNotTaken Kind = "alarm.access_not_taken"
	// OpenTooLong: a door stayed open past the limit.
	OpenTooLong Kind = "alarm.open_too_long"
	// ForcedOpen: a door opened without an authorised unlock.
	ForcedOpen Kind = "alarm.forced_open"
	// Tamper: the tamper input fired.
	Tamper Kind = "alarm.tamper"
	// SensorFault: the door sensor cannot be trusted, or the board that
	// reads it does not answer.
	SensorFault Kind = "alarm.sensor_fault"
)

// Priority ranks events for the operator console and for alerting;
// anything above PriorityInfo is an alarm.
type Priority int

// Priorities, lowest first.
const (
	PriorityInfo     Priority = iota // a normal door movement
	PriorityLow                      // worth a look: a user walked away, say
	PriorityHigh                     // needs someone: a door left open, a broken sensor
	PriorityCritical                 // likely an attack: forced door, tamper
)

// String returns the priority's name, as sent up with the event.
func (p Priority) String() string {
	switch p {
	case PriorityInfo:
		return "info"
	case PriorityLow:
		return "low"
	case PriorityHigh:
		return "high"
	case PriorityCritical:
		return "critical"
	}
	return "unknown"
}

// Event is something that happened at one door.
type Event struct {
	Kind     Kind
	Lock     int
	At       time.Time
	Priority Priority
	// GrantID is the grant or reason of the authorised unlock the event
	// belongs to: the unlock an opening confirmed, a closing ended, or an
	// alarm followed. It is empty for a door nobody authorised.
	GrantID string
	// Detail is a short human explanation for the operator.
	Detail string
}

// Alarm reports whether the event is an alarm rather than a normal
// movement.
func (e Event) Alarm() bool { return e.Priority > PriorityInfo }

var priorities = map[Kind]Priority{
	Opened:         PriorityInfo,
	Closed:         PriorityInfo,
	SensorRestored: PriorityInfo,
	TamperCleared:  PriorityInfo,
	AccessNotTaken: PriorityLow,
	OpenTooLong:    PriorityHigh,
	SensorFault:    PriorityHigh,
	ForcedOpen:     PriorityCritical,
	Tamper:         PriorityCritical,
}
