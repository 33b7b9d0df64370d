package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// testOutboxBatch covers the outbox's batch methods, with which the
// dispatcher records many deliveries in one transaction.
func testOutboxBatch(t *testing.T, open Opener) {
	enqueue := func(t *testing.T, s parcelguard.Store, n int) (ids []string) {
		t.Helper()
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			ids = ids[:0]
			for i := range n {
				m := newMessage(fmt.Sprintf("msg-%04d", i), fmt.Sprintf("k%d", i), 0)
				check(tx.EnqueueMessage(ctx, m))
				ids = append(ids, m.ID)
			}
			return nil
		})
		return ids
	}
	messages := func(t *testing.T, s parcelguard.Store) (out []*parcelguard.Message) {
		t.Helper()
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
			out, err = tx.Messages(ctx, parcelguard.MessageFilter{})
			return err
		})
		return out
	}

	t.Run("MarkManySent", func(t *testing.T) {
		// Ensure the given pending messages, leased or not, are sent at the
		// time with the note and their lease cleared; the others stay
		// pending; a dead message stays dead; repeats and already-sent ids
		// are no error.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			ids := enqueue(t, s, 5)
			var lease string
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				ms, err := tx.ClaimMessages(ctx, t0, 2, time.Minute)
				check(err)
				lease = ms[0].Lease
				check(tx.MarkDead(ctx, ids[1], lease, t0, "550"))
				check(tx.MarkSent(ctx, ids[4], t0, "earlier"))
				return nil
			})
			at := t0.Add(3 * time.Second)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.MarkManySent(ctx, []string{ids[0], ids[1], ids[2], ids[0], ids[4]}, at, "skipped: x")
			})
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.MarkManySent(ctx, nil, at, "")
			})
			all := messages(t, s)
			for i, want := range []struct {
				state parcelguard.MessageState
				at    time.Time
				note  string
			}{
				{parcelguard.MessageSent, at, "skipped: x"},
				{parcelguard.MessageDead, time.Time{}, "550"},
				{parcelguard.MessageSent, at, "skipped: x"},
				{parcelguard.MessagePending, time.Time{}, ""},
				{parcelguard.MessageSent, t0, "earlier"},
			} {
				m := all[i]
				if m.State != want.state || !m.SentAt.Equal(want.at) || m.LastError != want.note {
					t.Errorf("message %d: state %s, sent %v, note %q; want %s, %v, %q", i, m.State, m.SentAt, m.LastError,
						want.state, want.at, want.note)
				}
				if m.State == parcelguard.MessageSent && (m.Lease != "" || !m.LeasedUntil.IsZero()) {
					t.Errorf("message %d: sent but leased %q until %v", i, m.Lease, m.LeasedUntil)
				}
			}
		})

		// Ensure an unknown id fails the call with ErrNotFound.
		t.Run("Unknown", func(t *testing.T) {
			s := open(t)
			ids := enqueue(t, s, 2)
			wantErr(t, tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.MarkManySent(ctx, []string{ids[0], "msg-x", ids[1]}, t0, "")
			}), parcelguard.ErrNotFound)
			for _, m := range messages(t, s) {
				if m.State != parcelguard.MessagePending {
					t.Fatalf("message %s is %s after a failed transaction", m.ID, m.State)
				}
			}
		})

		// Ensure batches larger than one statement holds are marked whole.
		t.Run("Large", func(t *testing.T) {
			s := open(t)
			ids := enqueue(t, s, 700)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.MarkManySent(ctx, ids[:613], t0, "")
			})
			sent := 0
			for i, m := range messages(t, s) {
				if (m.State == parcelguard.MessageSent) != (i < 613) {
					t.Fatalf("message %d is %s", i, m.State)
				}
				if m.State == parcelguard.MessageSent {
					sent++
				}
			}
			equal(t, sent, 613)
		})
	})

	t.Run("AddMailboxEntries", func(t *testing.T) {
		// Ensure entries read back intact, ids are filled in, and entries
		// for messages already in the mailbox, or repeated, are not stored.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			ids := enqueue(t, s, 4)
			entry := func(i int, sealed string) *parcelguard.MailboxEntry {
				return &parcelguard.MailboxEntry{MessageID: ids[i], Channel: parcelguard.ChannelEmail,
					Recipient: fmt.Sprintf("r%d@example.com", i), ParcelID: "par-1", KeyID: "k1", Sealed: []byte(sealed),
					CreatedAt: t0.Add(time.Duration(i) * time.Second)}
			}
			first := []*parcelguard.MailboxEntry{entry(0, "s0"), entry(1, "s1")}
			first[0].ID = "mbx-0"
			var n1, n2 int
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
				n1, err = tx.AddMailboxEntries(ctx, first)
				return err
			})
			if first[1].ID == "" {
				t.Fatal("no id filled in")
			}
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
				n2, err = tx.AddMailboxEntries(ctx, []*parcelguard.MailboxEntry{entry(1, "again"), entry(2, "s2"), entry(3, "s3")})
				return err
			})
			equal(t, []int{n1, n2}, []int{2, 2})
			var got []*parcelguard.MailboxEntry
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
				got, err = tx.MailboxEntries(ctx, parcelguard.MailboxFilter{})
				return err
			})
			bySealed := map[string]*parcelguard.MailboxEntry{}
			for _, e := range got {
				bySealed[string(e.Sealed)] = e
			}
			if len(got) != 4 || bySealed["again"] != nil {
				t.Fatalf("got %d entries: %v", len(got), bySealed)
			}
			equal(t, bySealed["s0"], first[0])
			equal(t, bySealed["s1"], first[1])
			if e := bySealed["s3"]; e.MessageID != ids[3] || e.Recipient != "r3@example.com" || !e.CreatedAt.Equal(t0.Add(3*time.Second)) {
				t.Fatalf("entry %+v", e)
			}
		})

		// Ensure an entry for a message not in the outbox fails the call.
		t.Run("UnknownMessage", func(t *testing.T) {
			s := open(t)
			ids := enqueue(t, s, 1)
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				_, err := tx.AddMailboxEntries(ctx, []*parcelguard.MailboxEntry{
					{MessageID: ids[0], Channel: parcelguard.ChannelEmail, Recipient: "a@example.com", KeyID: "k1", Sealed: []byte("x"), CreatedAt: t0},
					{MessageID: "msg-x", Channel: parcelguard.ChannelEmail, Recipient: "a@example.com", KeyID: "k1", Sealed: []byte("x"), CreatedAt: t0},
				})
				return err
			})
			if err == nil {
				t.Fatal("an entry for an unknown message was stored")
			}
		})

		// Ensure batches larger than one statement holds are stored whole.
		t.Run("Large", func(t *testing.T) {
			s := open(t)
			ids := enqueue(t, s, 300)
			es := make([]*parcelguard.MailboxEntry, len(ids))
			for i, id := range ids {
				es[i] = &parcelguard.MailboxEntry{MessageID: id, Channel: parcelguard.ChannelSMS, Recipient: "+48600100200",
					KeyID: "k1", Sealed: []byte{byte(i)}, CreatedAt: t0}
			}
			var n int
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
				n, err = tx.AddMailboxEntries(ctx, es)
				return err
			})
			equal(t, n, 300)
		})
	})
}
