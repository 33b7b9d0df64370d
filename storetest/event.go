package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// tn is an event time with nanoseconds: the audit hash covers them, so an
// engine must keep them exactly.
var tn = time.Date(2026, 3, 2, 9, 30, 15, 123456789, time.UTC)

func newEvent(stream string, i int) *parcelguard.Event {
	return &parcelguard.Event{
		ID:            fmt.Sprintf("evt-%s-%03d", stream, i),
		Stream:        stream,
		At:            tn.Add(time.Duration(i) * time.Millisecond),
		Kind:          parcelguard.EventParcelDeposited,
		SiteID:        "site-1",
		CompartmentID: "cmp-1",
		ParcelID:      fmt.Sprintf("par-%d", i%3),
		GrantID:       "gr-1",
		Actor:         "courier:car-1/pgk_1234",
		Data:          map[string]string{"i": fmt.Sprint(i), "note": "zażółć"},
	}
}

// checkChain fails the test unless events are the whole chain 1..n of
// their stream, each linked to the previous and hashed over its content.
func checkChain(t testing.TB, events []*parcelguard.Event) {
	t.Helper()
	var prev []byte
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has Seq %d", i, e.Seq)
		}
		if !bytes.Equal(e.PrevHash, prev) {
			t.Fatalf("event %d: PrevHash %x, want %x", e.Seq, e.PrevHash, prev)
		}
		if want := parcelguard.ChainHash(prev, e); !bytes.Equal(e.Hash, want) {
			t.Fatalf("event %d: stored Hash %x, recomputed %x", e.Seq, e.Hash, want)
		}
		prev = e.Hash
	}
}

func testEvents(t *testing.T, open Opener) {
	t.Run("AppendEvent", func(t *testing.T) {
		// Ensure appended events form a hash chain per stream that reads
		// back exactly as sealed, across transactions and interleaved
		// streams, with the head tracking the last event.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			var a, b []*parcelguard.Event
			for i := range 7 {
				update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
					ea, eb := newEvent("site:a", i), newEvent("site:b", i)
					if i == 3 {
						ea.Data = nil
					}
					check(tx.AppendEvent(ctx, ea))
					check(tx.AppendEvent(ctx, eb))
					a, b = append(a, ea), append(b, eb)
					if i%2 == 0 { // two in one transaction
						ea2 := newEvent("site:a", 100+i)
						check(tx.AppendEvent(ctx, ea2))
						a = append(a, ea2)
					}
					return nil
				})
			}
			checkChain(t, a)
			checkChain(t, b)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for _, want := range [][]*parcelguard.Event{a, b} {
					stream := want[0].Stream
					got, err := tx.Events(ctx, parcelguard.EventFilter{Stream: stream})
					noErr(t, err)
					equal(t, got, want)
					checkChain(t, got)

					seq, hash, err := tx.StreamHead(ctx, stream)
					noErr(t, err)
					if last := want[len(want)-1]; seq != last.Seq || !bytes.Equal(hash, last.Hash) {
						t.Fatalf("head of %s = %d %x, want %d %x", stream, seq, hash, last.Seq, last.Hash)
					}
				}
				seq, hash, err := tx.StreamHead(ctx, "site:none")
				noErr(t, err)
				if seq != 0 || hash != nil {
					t.Fatalf("head of an empty stream = %d %x, want 0 nil", seq, hash)
				}
				return nil
			})
		})

		// Ensure an event without an ID gets one.
		t.Run("ID", func(t *testing.T) {
			s := open(t)
			e := newEvent(parcelguard.SystemStream, 1)
			e.ID = ""
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.AppendEvent(ctx, e) })
			if e.ID == "" {
				t.Fatal("AppendEvent left the ID empty")
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Events(ctx, parcelguard.EventFilter{Stream: parcelguard.SystemStream})
				noErr(t, err)
				equal(t, got, []*parcelguard.Event{e})
				return nil
			})
		})

		// Ensure an event id cannot be reused, and the failed append does
		// not move the stream's head.
		t.Run("ErrDuplicate", func(t *testing.T) {
			s := open(t)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.AppendEvent(ctx, newEvent("site:a", 1))
			})
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.AppendEvent(ctx, newEvent("site:a", 1))
			})
			wantErr(t, err, parcelguard.ErrDuplicate)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.AppendEvent(ctx, newEvent("site:a", 2))
			})
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Events(ctx, parcelguard.EventFilter{Stream: "site:a"})
				noErr(t, err)
				if len(got) != 2 {
					t.Fatalf("%d events, want 2", len(got))
				}
				checkChain(t, got)
				return nil
			})
		})
	})

	t.Run("Events", func(t *testing.T) {
		// Ensure a chain can be walked in pages with AfterSeq and Limit,
		// events filtered by parcel, and listed across streams by time.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			var a, b []*parcelguard.Event
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for i := range 10 {
					ea, eb := newEvent("site:a", i), newEvent("site:b", i)
					eb.At = eb.At.Add(500 * time.Microsecond) // b's i-th event is between a's i-th and i+1-th
					check(tx.AppendEvent(ctx, ea))
					check(tx.AppendEvent(ctx, eb))
					a, b = append(a, ea), append(b, eb)
				}
				return nil
			})
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				var walked []*parcelguard.Event
				for after := int64(0); ; {
					page, err := tx.Events(ctx, parcelguard.EventFilter{Stream: "site:a", AfterSeq: after, Limit: 4})
					noErr(t, err)
					if len(page) == 0 {
						break
					}
					if len(page) > 4 {
						t.Fatalf("page of %d events, limit 4", len(page))
					}
					walked = append(walked, page...)
					after = page[len(page)-1].Seq
				}
				equal(t, walked, a)

				var byTime, ofParcel []*parcelguard.Event
				for i := range a {
					byTime = append(byTime, a[i], b[i])
					if a[i].ParcelID == "par-1" {
						ofParcel = append(ofParcel, a[i], b[i])
					}
				}
				got, err := tx.Events(ctx, parcelguard.EventFilter{})
				noErr(t, err)
				equal(t, got, byTime)

				got, err = tx.Events(ctx, parcelguard.EventFilter{ParcelID: "par-1"})
				noErr(t, err)
				equal(t, got, ofParcel)

				got, err = tx.Events(ctx, parcelguard.EventFilter{Stream: "site:b", ParcelID: "par-1", Limit: 2})
				noErr(t, err)
				equal(t, got, []*parcelguard.Event{b[1], b[4]})
				return nil
			})
		})
	})

	t.Run("Streams", func(t *testing.T) {
		// Ensure every stream with events is listed once, and only those.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Streams(ctx)
				noErr(t, err)
				if len(got) != 0 {
					t.Fatalf("streams of an empty store: %q", got)
				}
				return nil
			})
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for i, stream := range []string{"site:b", parcelguard.SystemStream, "site:a", "site:b"} {
					check(tx.AppendEvent(ctx, newEvent(stream, i)))
				}
				return nil
			})
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Streams(ctx)
				noErr(t, err)
				equal(t, sorted(got), []string{"site:a", "site:b", parcelguard.SystemStream})
				return nil
			})
		})
	})
}
