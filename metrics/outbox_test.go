package metrics_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/metrics"
	"github.com/parcelguard/parcelguard/sqlite"
)

// Ensure a scrape reports the messages due and how long the oldest has
// waited, reads the store at most once a second, and leaves both series
// out when the store cannot answer.
func TestOutboxBacklog(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "pg.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := parcelguard.NewManualClock(now)
	reg := prometheus.NewPedanticRegistry()
	metrics.RegisterOutbox(reg, db, clock)

	check := func(what string, want map[string]float64) {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatalf("%s: gather: %v", what, err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				got[mf.GetName()] = m.GetGauge().GetValue()
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: scraped %v, want %v", what, got, want)
		}
	}
	check("empty outbox", map[string]float64{"parcelguard_outbox_due_messages": 0, "parcelguard_outbox_oldest_due_seconds": 0})
	err = db.Update(ctx, func(tx parcelguard.Tx) error {
		for i, due := range []time.Duration{-90 * time.Second, -30 * time.Second, time.Minute} {
			m := &parcelguard.Message{IdempotencyKey: fmt.Sprintf("deposit:%d:sms", i), Kind: parcelguard.MessageDeposit,
				Channel: parcelguard.ChannelSMS, Recipient: "+48600100200", CreatedAt: now.Add(-2 * time.Minute), DueAt: now.Add(due)}
			if err := tx.EnqueueMessage(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A reading serves the scrapes of the next second; then the store is
	// read again.
	check("within a second of the last reading", map[string]float64{"parcelguard_outbox_due_messages": 0, "parcelguard_outbox_oldest_due_seconds": 0})
	clock.Advance(time.Second)
	check("two due, one later", map[string]float64{"parcelguard_outbox_due_messages": 2, "parcelguard_outbox_oldest_due_seconds": 91})

	db.Close()
	clock.Advance(time.Second)
	check("closed store", map[string]float64{})
}
