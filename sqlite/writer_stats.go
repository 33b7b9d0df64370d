package sqlite

import "time"

// WriterStats is the single writer's work since Open. Every Update runs on
// that one goroutine, so Busy over a stretch of wall time says how close
// the store is to its limit: near 100 %, Updates queue, and adding
// callers only adds latency.
type WriterStats struct {
	// Commits counts committed batches, Updates the Updates they carried
	// (those whose fn succeeded).
	Commits, Updates int64
	// Busy is the time spent running batches: their statements, their
	// commits and the checkpoints that commits set off. Committing is the
	// part spent in COMMIT (writing the WAL, fsync, checkpoints).
	Busy, Committing time.Duration
}

// WriterStats reports the writer's work since Open.
func (db *DB) WriterStats() WriterStats {
	return WriterStats{Commits: db.commits.Load(), Updates: db.updates.Load(),
		Busy: time.Duration(db.busy.Load()), Committing: time.Duration(db.committing.Load())}
}

// Sub is the work between an earlier reading and s.
func (s WriterStats) Sub(earlier WriterStats) WriterStats {
	return WriterStats{Commits: s.Commits - earlier.Commits, Updates: s.Updates - earlier.Updates,
		Busy: s.Busy - earlier.Busy, Committing: s.Committing - earlier.Committing}
}

// Add is the work of s and other together.
func (s WriterStats) Add(other WriterStats) WriterStats {
	return WriterStats{Commits: s.Commits + other.Commits, Updates: s.Updates + other.Updates,
		Busy: s.Busy + other.Busy, Committing: s.Committing + other.Committing}
}
