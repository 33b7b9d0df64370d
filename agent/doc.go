// Package agent is the locker side of parcelguard: it runs at one locker
// site, keeps the locker's active grants in a local SQLite store, verifies
// PINs (keyed hash under the site's code keys) and QR tokens (Ed25519, with
// the cloud's public keys only) without the network, enforces the grant and
// locker failure limits locally (the domain's Grant and LockerGuard
// policies), drives the locks through a lockhw.Driver watched by a
// door.Monitor, and reports what happened through a durable local outbox
// of events that is flushed whenever the device channel is up. Commands
// from the cloud are accepted only signed, for this locker, unexpired and
// once (devicemsg.Verifier with a persistent nonce store).
package agent
