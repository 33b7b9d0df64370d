// Package bench measures parcelguard against its storage floor: the same
// transactions the service performs (deposit, pickup, expiry, doorstep
// handover, and applying a locker's report of a pickup) issued straight to
// a store, and the same work through the public HTTP API (or, for the
// locker's report, the device channel) of a running service, with its
// scheduler and notification outbox, from concurrent clients over
// loopback. The ratio
// service/floor per operation, measured in the same run, says how much of
// the store's capacity the layers above it (HTTP, JSON, authentication,
// rate limits, idempotency keys, the outbox dispatcher) leave over.
package bench
