// Package door turns lock commands and sensor readings into door events
// and alarms, per SECURITY.md 16: an authorised unlock must be followed by
// the sensor reporting the door open, else "access not taken"; a door open
// too long, a door opened without an unlock (forced), the tamper switch and
// a failed sensor each raise an alarm with a priority.
//
// Monitor is pure logic over an injected clock: it does no I/O of its own
// except through the lockhw.Driver handed to Unlock and Poll, so every
// scenario can be replayed with lockhw.Sim and a parcelguard.ManualClock.
package door
