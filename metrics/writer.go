package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcelguard/parcelguard/sqlite"
)

// RegisterSQLiteWriter exports the SQLite store's single writer: its
// commits, the Updates they carried, and the time it spent busy and
// committing. rate(busy) near 1 means the writer is the limit.
func RegisterSQLiteWriter(reg prometheus.Registerer, stats func() sqlite.WriterStats) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parcelguard_sqlite_writer_commits_total",
			Help: "Batches the SQLite writer committed.",
		}, func() float64 { return float64(stats().Commits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parcelguard_sqlite_writer_updates_total",
			Help: "Updates the SQLite writer committed (several share a commit).",
		}, func() float64 { return float64(stats().Updates) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parcelguard_sqlite_writer_busy_seconds_total",
			Help: "Time the SQLite writer spent running batches, commits included.",
		}, func() float64 { return stats().Busy.Seconds() }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parcelguard_sqlite_writer_commit_seconds_total",
			Help: "Time the SQLite writer spent committing (WAL writes, fsync, checkpoints).",
		}, func() float64 { return stats().Committing.Seconds() }),
	)
}
