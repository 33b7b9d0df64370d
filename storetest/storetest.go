// Package storetest is the conformance suite of parcelguard.Store: every
// storage engine runs Run (and Bench) against itself, so that all engines
// keep the same semantics — round trips, errors, optimistic versions, audit
// chains, timers and transaction isolation.
//
// An engine's test calls:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) parcelguard.Store { return openTemp(t) })
//	}
//
// open must return a new, empty, migrated store each time it is called and
// register its own cleanup (t.Cleanup(store.Close)).
package storetest

import (
	"testing"

	"github.com/parcelguard/parcelguard"
)

// Opener returns a new empty store for one test and arranges its Close.
type Opener = func(t *testing.T) parcelguard.Store

// Run runs the whole conformance suite against stores made by open.
func Run(t *testing.T, open Opener) {
	t.Run("Site", func(t *testing.T) { testSites(t, open) })
	t.Run("Carrier", func(t *testing.T) { testCarriers(t, open) })
	t.Run("APIKey", func(t *testing.T) { testAPIKeys(t, open) })
	t.Run("Compartment", func(t *testing.T) { testCompartments(t, open) })
	t.Run("Parcel", func(t *testing.T) { testParcels(t, open) })
	t.Run("Grant", func(t *testing.T) { testGrants(t, open) })
	t.Run("LockerGuard", func(t *testing.T) { testLockerGuards(t, open) })
	t.Run("Event", func(t *testing.T) { testEvents(t, open) })
	t.Run("Timer", func(t *testing.T) { testTimers(t, open) })
	t.Run("Outbox", func(t *testing.T) { testOutbox(t, open) })
	t.Run("OutboxBatch", func(t *testing.T) { testOutboxBatch(t, open) })
	t.Run("IdempotencyKey", func(t *testing.T) { testIdempotencyKeys(t, open) })
	t.Run("Outage", func(t *testing.T) { testOutage(t, open) })
	t.Run("Doorstep", func(t *testing.T) { testDoorstep(t, open) })
	t.Run("Account", func(t *testing.T) { testAccounts(t, open) })
	t.Run("Device", func(t *testing.T) { testDevice(t, open) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, open) })
	t.Run("View", func(t *testing.T) { testView(t, open) })
	t.Run("Network", func(t *testing.T) { testNetwork(t, open) })
	t.Run("Sequence", func(t *testing.T) { testSequences(t, open) })
}
