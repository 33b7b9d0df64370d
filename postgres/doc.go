// Package postgres implements parcelguard.Store on PostgreSQL with pgx/v5,
// so that several instances of parcelguard can serve one database.
//
// Update runs fn in a READ COMMITTED transaction. Lost updates are prevented
// by the same means as on SQLite — optimistic versions checked by each
// Save*, unique constraints — plus row locks where a read decides a write:
// AppendEvent locks its stream's head row, DueTimers locks the timers it
// returns (skipping those another transaction holds) and ClaimTimer deletes
// its timer. Serialization failures and deadlocks (SQLSTATE 40001, 40P01)
// re-run fn from the start, a bounded number of times with jittered backoff.
// View runs fn in a REPEATABLE READ READ ONLY transaction: one snapshot.
//
// Each statement costs a network round trip, so the transaction's BEGIN is
// sent in the same pipeline as its first statement, and the writes of
// AppendEvent (the event and the new head) travel with the next statement
// or the COMMIT.
package postgres
