// Package camera creates bookmarks in a locker site's video system for door
// events and alarms (SECURITY.md 17), so that the footage of every door
// movement can be found from its audit event. Two kinds of video hook are
// supported: a generic webhook signed like parcelguard's carrier webhooks,
// and Frigate's manual-event API. A camera that cannot be reached returns an
// *UnreachableError after bounded retries; the caller then stores the event
// flagged "unrecorded" instead of waiting.
package camera
