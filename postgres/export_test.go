package postgres

// RoundTrips reports how many round trips the store's transactions have
// made so far, for the benchmarks of package postgres_test.
func (db *DB) RoundTrips() int64 { return db.roundTrips.Load() }
