// Package devicemsg defines the device contract between the cloud and a
// locker agent: the events a locker sends up, the commands the cloud sends
// down, and the signed envelope a command travels in (SECURITY.md 11).
//
// The package is pure: no I/O, no clock of its own (callers pass now), so
// the same code validates messages in the cloud, in the agent and in fuzz
// tests. Every decoder rejects unknown fields, oversized input and unknown
// enum values, and never panics (SECURITY.md 19).
package devicemsg
