package notify

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/sqlite"
)

// noCodes is a CodeSource for tests that render nothing.
type noCodes struct{}

func (noCodes) PickupCode(context.Context, string) (string, *parcelguard.Grant, error) {
	return "", nil, parcelguard.ErrNotFound
}

// Ensure outcomes recorded together land in one go, and that one which
// cannot be recorded (a retry under a lease since taken over) fails alone:
// the others are still recorded, mailbox entries included, and the error
// names the message.
func TestRecordBatchIsolatesAFailure(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "pg.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := code.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	clock := parcelguard.NewManualClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	d, err := New(Config{}, Options{Store: db, Clock: clock, Keys: keys, Codes: noCodes{}})
	if err != nil {
		t.Fatal(err)
	}
	var claimed []*parcelguard.Message
	if err := db.Update(ctx, func(tx parcelguard.Tx) error {
		for i := range 4 {
			m := newTestMessage(clock.Now())
			m.ID, m.IdempotencyKey = fmt.Sprintf("msg_%d", i), fmt.Sprintf("deposit:grt_%d:email", i)
			if err := tx.EnqueueMessage(ctx, m); err != nil {
				return err
			}
		}
		claimed, err = tx.ClaimMessages(ctx, clock.Now(), 10, time.Minute)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	outcomes := func(badLease string) []*outcome {
		var os []*outcome
		for i, m := range claimed {
			switch i {
			case 2:
				os = append(os, &outcome{m: m, record: func(ctx context.Context, tx parcelguard.Tx) error {
					return tx.MarkRetry(ctx, m.ID, badLease, clock.Now().Add(time.Minute), "421")
				}})
			default:
				e, err := d.mailbox.entry(m, &Rendered{MessageID: m.ID, Text: "hello " + m.ID})
				if err != nil {
					t.Fatal(err)
				}
				os = append(os, &outcome{m: m, sent: true, entry: e})
			}
		}
		return os
	}

	err = errors.Join(d.recordBatch(ctx, outcomes("not-the-lease"))...)
	if !errors.Is(err, parcelguard.ErrConflict) || !strings.Contains(err.Error(), claimed[2].ID) {
		t.Fatalf("got %v, want a conflict naming %s", err, claimed[2].ID)
	}
	states := func() (out []parcelguard.MessageState) {
		for _, m := range claimed {
			var got *parcelguard.Message
			if err := db.View(ctx, func(tx parcelguard.Tx) (err error) {
				got, err = tx.Message(ctx, m.ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			out = append(out, got.State)
		}
		return out
	}
	want := []parcelguard.MessageState{parcelguard.MessageSent, parcelguard.MessageSent, parcelguard.MessagePending, parcelguard.MessageSent}
	if got := states(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	box, err := d.Mailbox().List(ctx, parcelguard.MailboxFilter{})
	if err != nil || len(box) != 3 || box[0].Text != "hello "+box[0].MessageID {
		t.Fatalf("mailbox %+v (%v), want 3 entries", box, err)
	}

	// Recorded again, with the right lease, the whole batch goes through
	// and the mailbox keeps one entry a message.
	if err := errors.Join(d.recordBatch(ctx, outcomes(claimed[2].Lease))...); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Mailbox().List(ctx, parcelguard.MailboxFilter{}); err != nil || len(got) != 3 {
		t.Fatalf("mailbox has %d entries (%v), want 3", len(got), err)
	}
	var m *parcelguard.Message
	if err := db.View(ctx, func(tx parcelguard.Tx) (err error) {
		m, err = tx.Message(ctx, claimed[2].ID)
		return err
	}); err != nil || m.State != parcelguard.MessagePending || m.Lease != "" || m.LastError != "421" {
		t.Fatalf("retried message %+v (%v)", m, err)
	}
}
