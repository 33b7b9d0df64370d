package notify_test

import (
	"fmt"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/notify"
)

// BenchmarkDispatchDeposits measures sending what a deposit causes (the
// e-mail with its QR code, the SMS and the carrier's webhook) into the
// mailbox, per deposit: reading the batch, fetching PINs, rendering and
// recording.
func BenchmarkDispatchDeposits(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		f := newFixture(b, 64)
		for i := range 64 {
			f.deposit(fmt.Sprintf("PG-%04d", i), ada)
		}
		d, err := notify.New(notify.Config{}, notify.Options{Store: f.db, Clock: f.clock, Keys: f.keys, Codes: f.svc})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if n, err := d.DispatchDue(f.ctx); err != nil || n != 3*64 {
			b.Fatalf("dispatched %d (%v), want %d", n, err, 3*64)
		}
		b.StopTimer()
		if got := len(f.messages(parcelguard.MessageFilter{State: parcelguard.MessageSent})); got != 3*64 {
			b.Fatalf("%d sent", got)
		}
		f.db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*64)/1000, "ms/deposit")
}
