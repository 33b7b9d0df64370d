// Package bench measures parcelguard against its storage floor: the same
// transactions the service performs (deposit, pickup, expiry, doorstep
// handover) issued straight to a store, and the same work through the
// public HTTP API of a running service, with its scheduler and
// notification outbox, from concurrent clients over loopback. The ratio
// service/floor per operation, measured in the same run, says how much of
// the store's capacity the layers above it (HTTP, JSON, authentication,
// rate limits, idempotency keys, the outbox dispatcher) leave over.
package bench
