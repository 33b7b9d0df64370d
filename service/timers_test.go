package service_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure timers fired together in one transaction still fire exactly once
// each, and one that cannot fire (an unknown kind) holds back none of the
// others: they all fire, it stays, and the pass names it.
func TestTimerChunkIsolatesAFailure(t *testing.T) {
	for _, chunk := range []int{0, 1, 16} {
		t.Run(fmt.Sprint(chunk), func(t *testing.T) { testTimerChunk(t, chunk) })
	}
}

func testTimerChunk(t *testing.T, chunk int) {
	const parcels = 20
	sizes := make([]parcelguard.SizeClass, parcels)
	for i := range sizes {
		sizes[i] = parcelguard.SizeS
	}
	f := newFixture(t, sizes...)
	var ids []string
	for i := range parcels {
		p, _ := f.deposited(fmt.Sprintf("PG-%04d", i))
		ids = append(ids, p.ID)
	}
	bad := &parcelguard.Timer{ID: "tmr_bad", Kind: "bogus", ParcelID: ids[7], DueAt: f.clock.Now()}
	if err := f.db.Update(f.ctx, func(tx parcelguard.Tx) error { return tx.ScheduleTimer(f.ctx, bad) }); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(100 * time.Hour) // past every reminder and deadline
	svc := service.New(service.Config{Store: f.db, Clock: f.clock, Keys: f.keys, TimerChunk: chunk})
	n, err := svc.FireDueTimers(f.ctx)
	if n != 2*parcels || err == nil || !strings.Contains(err.Error(), bad.ID) {
		t.Fatalf("fired %d (%v), want %d and an error naming %s", n, err, 2*parcels, bad.ID)
	}
	for _, id := range ids {
		if got := f.parcel(id).State; got != parcelguard.ParcelExpired {
			t.Fatalf("parcel %s is %s", id, got)
		}
	}
	n, err = svc.FireDueTimers(f.ctx)
	if n != 0 || err == nil || !strings.Contains(err.Error(), bad.ID) {
		t.Fatalf("second pass fired %d (%v), want 0 and the same error", n, err)
	}
	// Each parcel got one reminder and one expiry notice per channel.
	var msgs []*parcelguard.Message
	if err := f.db.View(f.ctx, func(tx parcelguard.Tx) (err error) {
		msgs, err = tx.Messages(f.ctx, parcelguard.MessageFilter{Kind: parcelguard.MessageExpiry})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	perParcel := map[string]int{}
	for _, m := range msgs {
		perParcel[m.ParcelID+string(m.Channel)]++
	}
	for k, c := range perParcel {
		if c != 1 {
			t.Errorf("%s: %d expiry notices", k, c)
		}
	}
	if len(perParcel) == 0 {
		t.Fatal("no expiry notices")
	}
}
