// Package sqlite implements parcelguard.Store on SQLite, using the pure Go
// driver modernc.org/sqlite.
//
// The database runs in WAL mode with synchronous=FULL, so an acknowledged
// Update survives a power cut. Reads go through a pool of query-only
// connections; every write goes through one writer connection owned by a
// single goroutine, which commits concurrent Updates together (group commit)
// to share the cost of the fsync that ends each commit.
package sqlite
