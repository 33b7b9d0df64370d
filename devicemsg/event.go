package devicemsg

import (
	"encoding/json"
	"fmt"
	"time"
)

// EventKind names what happened at a locker. Kinds with a dot become several
// subject tokens (pg.locker.<id>.events.door.opened).
type EventKind string

// Event kinds a locker reports.
const (
	EventPickup     EventKind = "pickup"      // a recipient took a parcel with a grant
	EventDeposit    EventKind = "deposit"     // a courier put a parcel in
	EventCollect    EventKind = "collect"     // a courier collected an expired parcel
	EventDoorOpened EventKind = "door.opened" // a door sensor reported open
	EventDoorClosed EventKind = "door.closed" // a door sensor reported closed
	EventHeartbeat  EventKind = "heartbeat"   // the agent is alive; Data may carry its state

	AlarmForcedOpen     EventKind = "alarm.forced_open"      // opened without an unlock
	AlarmOpenTooLong    EventKind = "alarm.open_too_long"    // left open past the limit
	AlarmAccessNotTaken EventKind = "alarm.access_not_taken" // unlocked, never opened
	AlarmTamper         EventKind = "alarm.tamper"           // tamper switch
	AlarmSensorFault    EventKind = "alarm.sensor_fault"     // a sensor stopped making sense
	AlarmGuessing       EventKind = "alarm.guessing"         // the kiosk's failure budget is spent
	AlarmGrantLocked    EventKind = "alarm.grant_locked"     // a grant was disabled after too many failures
)

// EventKinds lists every valid event kind.
var EventKinds = []EventKind{
	EventPickup, EventDeposit, EventCollect, EventDoorOpened, EventDoorClosed, EventHeartbeat,
	AlarmForcedOpen, AlarmOpenTooLong, AlarmAccessNotTaken, AlarmTamper, AlarmSensorFault, AlarmGuessing, AlarmGrantLocked,
}

// Valid reports whether k is a known event kind.
func (k EventKind) Valid() bool {
	for _, v := range EventKinds {
		if k == v {
			return true
		}
	}
	return false
}

// IsAlarm reports whether k is an alarm, which the cloud handles with
// priority (SECURITY.md 16).
func (k EventKind) IsAlarm() bool { return k.Valid() && len(k) > 6 && k[:6] == "alarm." }

// Limits of an event, so that a misbehaving locker cannot make the cloud
// store or log unbounded data.
const (
	MaxEventBytes   = 16 << 10
	MaxGrantIDs     = 16
	MaxDataEntries  = 32
	MaxDataKeyLen   = 64
	MaxDataValueLen = 1024
)

// Event is one thing that happened at a locker, sent up at least once. The
// cloud deduplicates by ID (also the JetStream Nats-Msg-Id) and orders by
// Seq, which the agent numbers from 1 without gaps.
type Event struct {
	// ID is unique per event; the agent uses a ULID-style id so retries of
	// the same outbox row carry the same id.
	ID       string    `json:"id"`
	LockerID string    `json:"locker_id"`
	Seq      uint64    `json:"seq"`
	At       time.Time `json:"at"`
	Kind     EventKind `json:"kind"`
	// Compartment is the compartment the event concerns, empty for
	// locker-wide events such as a cabinet tamper alarm.
	Compartment string `json:"compartment,omitempty"`
	// GrantIDs are the grants that caused the event (usually one).
	GrantIDs []string `json:"grant_ids,omitempty"`
	// Data holds details; never a code, key or token.
	Data map[string]string `json:"data,omitempty"`
}

// Validate checks every field against the contract.
func (e *Event) Validate() error {
	if err := checkID("id", e.ID); err != nil {
		return err
	}
	if err := checkID("locker_id", e.LockerID); err != nil {
		return err
	}
	if e.Seq == 0 {
		return fmt.Errorf("%w: seq must be at least 1", ErrMalformed)
	}
	if err := checkTime("at", e.At); err != nil {
		return err
	}
	if !e.Kind.Valid() {
		return fmt.Errorf("%w: kind %q is unknown", ErrMalformed, e.Kind)
	}
	if e.Compartment != "" {
		if err := checkID("compartment", e.Compartment); err != nil {
			return err
		}
	}
	if len(e.GrantIDs) > MaxGrantIDs {
		return fmt.Errorf("%w: grant_ids has more than %d entries", ErrMalformed, MaxGrantIDs)
	}
	for _, id := range e.GrantIDs {
		if err := checkID("grant_ids", id); err != nil {
			return err
		}
	}
	return checkData(e.Data)
}

// checkData bounds the free-form details map.
func checkData(m map[string]string) error {
	if len(m) > MaxDataEntries {
		return fmt.Errorf("%w: data has more than %d entries", ErrMalformed, MaxDataEntries)
	}
	for k, v := range m {
		if err := checkID("data key", k); err != nil || len(k) > MaxDataKeyLen {
			return fmt.Errorf("%w: data key %q must be 1 to %d characters of [A-Za-z0-9_-]", ErrMalformed, k, MaxDataKeyLen)
		}
		if err := checkText("data["+k+"]", v, MaxDataValueLen, false); err != nil {
			return err
		}
	}
	return nil
}

// EncodeEvent validates e and encodes it as JSON.
func EncodeEvent(e Event) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	e.At = e.At.UTC()
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	if len(b) > MaxEventBytes {
		return nil, fmt.Errorf("encode event: %w: %d bytes exceeds %d", ErrMalformed, len(b), MaxEventBytes)
	}
	return b, nil
}

// DecodeEvent decodes and validates one event.
func DecodeEvent(b []byte) (Event, error) {
	var e Event
	if err := decodeStrict(b, MaxEventBytes, &e); err != nil {
		return Event{}, fmt.Errorf("decode event: %w", err)
	}
	if err := e.Validate(); err != nil {
		return Event{}, fmt.Errorf("decode event: %w", err)
	}
	return e, nil
}
