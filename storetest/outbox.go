package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// newMessage returns a pending e-mail message created (and due) at t0+at.
func newMessage(id, key string, at time.Duration) *parcelguard.Message {
	return &parcelguard.Message{
		ID:             id,
		IdempotencyKey: key,
		Kind:           parcelguard.MessageDeposit,
		Channel:        parcelguard.ChannelEmail,
		Recipient:      "anna@example.com",
		Language:       "pl",
		ParcelID:       "par-1",
		GrantID:        "grt-1",
		SiteID:         "site-1",
		CarrierID:      "car-1",
		Data:           map[string]string{"deadline": "2026-03-05T09:30:15Z"},
		State:          parcelguard.MessagePending,
		DueAt:          t0.Add(at),
		CreatedAt:      t0.Add(at),
	}
}

func testOutbox(t *testing.T, open Opener) {
	enqueue := func(t *testing.T, s parcelguard.Store, ms ...*parcelguard.Message) {
		t.Helper()
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			for _, m := range ms {
				check(tx.EnqueueMessage(ctx, m))
			}
			return nil
		})
	}
	claim := func(t *testing.T, s parcelguard.Store, now time.Time, limit int, lease time.Duration) (out []*parcelguard.Message) {
		t.Helper()
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
			out, err = tx.ClaimMessages(ctx, now, limit, lease)
			return err
		})
		return out
	}
	messages := func(t *testing.T, s parcelguard.Store, f parcelguard.MessageFilter) (out []*parcelguard.Message) {
		t.Helper()
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
			out, err = tx.Messages(ctx, f)
			return err
		})
		return out
	}
	ids := func(ms []*parcelguard.Message) (out []string) {
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}

	t.Run("EnqueueMessage", func(t *testing.T) {
		// Ensure an enqueued message reads back intact.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			m := newMessage("msg-1", "deposit:grt-1:email", 0)
			enqueue(t, s, m)
			var got *parcelguard.Message
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
				got, err = tx.Message(ctx, "msg-1")
				return err
			})
			equal(t, got, m)
		})

		// Ensure a second message with the same idempotency key is not
		// stored, without failing the transaction, whether it comes in the
		// same transaction or a later one.
		t.Run("DuplicateKey", func(t *testing.T) {
			s := open(t)
			first := newMessage("msg-1", "deposit:grt-1:email", 0)
			again := newMessage("msg-2", "deposit:grt-1:email", time.Minute)
			again.Recipient = "other@example.com"
			enqueue(t, s, first, again)
			got := messages(t, s, parcelguard.MessageFilter{})
			equal(t, got, []*parcelguard.Message{first})
			later := newMessage("msg-3", "deposit:grt-1:email", 2*time.Minute)
			enqueue(t, s, later)
			got = messages(t, s, parcelguard.MessageFilter{})
			equal(t, got, []*parcelguard.Message{first})
		})

		// Ensure defaults fill an empty id, state and due time.
		t.Run("Defaults", func(t *testing.T) {
			s := open(t)
			m := newMessage("", "k", 0)
			m.State, m.DueAt = "", time.Time{}
			enqueue(t, s, m)
			got := messages(t, s, parcelguard.MessageFilter{})
			if len(got) != 1 || got[0].ID == "" || got[0].State != parcelguard.MessagePending || !got[0].DueAt.Equal(m.CreatedAt) {
				t.Fatalf("got %+v", got)
			}
		})

		// Ensure an unknown message is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			err := s.View(t.Context(), func(tx parcelguard.Tx) error {
				_, err := tx.Message(t.Context(), "msg-x")
				return err
			})
			wantErr(t, err, parcelguard.ErrNotFound)
		})
	})

	t.Run("ClaimMessages", func(t *testing.T) {
		// Ensure claims return due messages oldest first, up to limit,
		// leased and with an attempt counted; leased ones are not claimed
		// again until the lease ends.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			m1 := newMessage("msg-1", "k1", 2*time.Minute)
			m2 := newMessage("msg-2", "k2", time.Minute)
			m3 := newMessage("msg-3", "k3", 3*time.Minute)
			future := newMessage("msg-4", "k4", time.Hour)
			enqueue(t, s, m1, m2, m3, future)

			now := t0.Add(10 * time.Minute)
			got := claim(t, s, now, 2, time.Minute)
			equal(t, ids(got), []string{"msg-2", "msg-1"})
			for _, m := range got {
				if m.Attempts != 1 || m.Lease == "" || !m.LeasedUntil.Equal(now.Add(time.Minute)) {
					t.Fatalf("claimed %+v: want attempts 1, a lease until %v", m, now.Add(time.Minute))
				}
			}
			equal(t, ids(claim(t, s, now, 10, time.Hour)), []string{"msg-3"})
			equal(t, ids(claim(t, s, now.Add(30*time.Second), 10, time.Minute)), []string(nil))

			// The lease of the first two ends: they are due again.
			again := claim(t, s, now.Add(time.Minute), 10, time.Minute)
			equal(t, ids(again), []string{"msg-2", "msg-1"})
			if again[0].Attempts != 2 || again[0].Lease == got[0].Lease {
				t.Fatalf("reclaimed %+v: want attempts 2 and a new lease", again[0])
			}
		})

		// Ensure a claim rolled back with its transaction leaves the
		// message claimable.
		t.Run("Rollback", func(t *testing.T) {
			s := open(t)
			enqueue(t, s, newMessage("msg-1", "k1", 0))
			errBoom := parcelguard.Errorf(parcelguard.EINTERNAL, "boom")
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.ClaimMessages(ctx, t0, 10, time.Hour)
				check(err)
				if len(got) != 1 {
					check(fmt.Errorf("claimed %d, want 1", len(got)))
				}
				return errBoom
			})
			wantErr(t, err, errBoom)
			got := claim(t, s, t0, 10, time.Hour)
			if len(got) != 1 || got[0].Attempts != 1 {
				t.Fatalf("after rollback claimed %+v", got)
			}
		})

		// Ensure concurrent claimers never lease the same message twice.
		t.Run("Concurrent", func(t *testing.T) {
			s := open(t)
			const n = 200
			ms := make([]*parcelguard.Message, n)
			for i := range ms {
				ms[i] = newMessage(fmt.Sprintf("msg-%03d", i), fmt.Sprintf("k%03d", i), 0)
			}
			enqueue(t, s, ms...)
			var (
				mu   sync.Mutex
				seen = map[string]int{}
				wg   sync.WaitGroup
				errs = make(chan error, 16)
			)
			for range 16 {
				wg.Go(func() {
					for {
						var got []*parcelguard.Message
						err := s.Update(context.Background(), func(tx parcelguard.Tx) (err error) {
							got, err = tx.ClaimMessages(context.Background(), t0, 7, time.Hour)
							return err
						})
						if err != nil {
							errs <- err
							return
						}
						mu.Lock()
						for _, m := range got {
							seen[m.ID]++
						}
						mu.Unlock()
						if len(got) == 0 {
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if len(seen) != n {
				t.Fatalf("claimed %d distinct messages, want %d", len(seen), n)
			}
			for id, c := range seen {
				if c != 1 {
					t.Fatalf("message %s claimed %d times", id, c)
				}
			}
		})
	})

	t.Run("Mark", func(t *testing.T) {
		// Ensure MarkSent ends a message, MarkRetry makes it due again at
		// the given time, MarkDead gives it up, each recording the error.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			enqueue(t, s, newMessage("msg-1", "k1", 0), newMessage("msg-2", "k2", 0), newMessage("msg-3", "k3", 0))
			got := claim(t, s, t0, 10, time.Minute)
			lease := got[0].Lease
			retryAt := t0.Add(5 * time.Minute)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				check(tx.MarkSent(ctx, "msg-1", t0.Add(time.Second), ""))
				check(tx.MarkRetry(ctx, "msg-2", lease, retryAt, "421 try later"))
				return tx.MarkDead(ctx, "msg-3", lease, t0.Add(2*time.Second), "550 no such user")
			})
			all := messages(t, s, parcelguard.MessageFilter{})
			if m := all[0]; m.State != parcelguard.MessageSent || !m.SentAt.Equal(t0.Add(time.Second)) || m.Lease != "" {
				t.Fatalf("sent message %+v", m)
			}
			if m := all[1]; m.State != parcelguard.MessagePending || !m.DueAt.Equal(retryAt) || m.LastError != "421 try later" ||
				m.Lease != "" || !m.LeasedUntil.IsZero() || m.Attempts != 1 {
				t.Fatalf("retried message %+v", m)
			}
			if m := all[2]; m.State != parcelguard.MessageDead || m.LastError != "550 no such user" {
				t.Fatalf("dead message %+v", m)
			}
			equal(t, ids(claim(t, s, retryAt.Add(-time.Second), 10, time.Minute)), []string(nil))
			equal(t, ids(claim(t, s, retryAt, 10, time.Minute)), []string{"msg-2"})
		})

		// Ensure a sender whose lease was taken over cannot retry or kill
		// the message, while MarkSent is accepted from anyone and is a
		// no-op on a finished message.
		t.Run("LostLease", func(t *testing.T) {
			s := open(t)
			enqueue(t, s, newMessage("msg-1", "k1", 0))
			first := claim(t, s, t0, 10, time.Minute)[0]
			second := claim(t, s, t0.Add(time.Minute), 10, time.Minute)[0]
			for _, mark := range []func(ctx context.Context, tx parcelguard.Tx) error{
				func(ctx context.Context, tx parcelguard.Tx) error {
					return tx.MarkRetry(ctx, "msg-1", first.Lease, t0, "x")
				},
				func(ctx context.Context, tx parcelguard.Tx) error {
					return tx.MarkDead(ctx, "msg-1", first.Lease, t0, "x")
				},
			} {
				wantErr(t, tryUpdate(t, s, mark), parcelguard.ErrConflict)
			}
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.MarkSent(ctx, "msg-1", t0.Add(time.Minute), "")
			})
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.MarkSent(ctx, "msg-1", t0.Add(2*time.Minute), "")
			})
			wantErr(t, tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.MarkRetry(ctx, "msg-1", second.Lease, t0, "x")
			}), parcelguard.ErrConflict)
			m := messages(t, s, parcelguard.MessageFilter{})[0]
			if m.State != parcelguard.MessageSent || !m.SentAt.Equal(t0.Add(time.Minute)) {
				t.Fatalf("message %+v, want sent at the first MarkSent", m)
			}
		})

		// Ensure marking an unknown message is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			for _, mark := range []func(ctx context.Context, tx parcelguard.Tx) error{
				func(ctx context.Context, tx parcelguard.Tx) error { return tx.MarkSent(ctx, "msg-x", t0, "") },
				func(ctx context.Context, tx parcelguard.Tx) error { return tx.MarkRetry(ctx, "msg-x", "l", t0, "") },
				func(ctx context.Context, tx parcelguard.Tx) error { return tx.MarkDead(ctx, "msg-x", "l", t0, "") },
			} {
				wantErr(t, tryUpdate(t, s, mark), parcelguard.ErrNotFound)
			}
		})
	})

	t.Run("Messages", func(t *testing.T) {
		// Ensure each filter field selects, and the cursor pages in id order.
		t.Run("Filter", func(t *testing.T) {
			s := open(t)
			a := newMessage("msg-1", "k1", 0)
			b := newMessage("msg-2", "k2", 0)
			b.Channel, b.Recipient, b.Kind = parcelguard.ChannelSMS, "+48600100200", parcelguard.MessageReminder
			c := newMessage("msg-3", "k3", 0)
			c.ParcelID, c.Channel, c.Recipient, c.Kind = "par-2", parcelguard.ChannelWebhook, "car-1", parcelguard.MessageWebhook
			enqueue(t, s, a, b, c)
			claimed := claim(t, s, t0, 1, time.Minute)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.MarkDead(ctx, claimed[0].ID, claimed[0].Lease, t0, "gone")
			})
			for _, c := range []struct {
				f    parcelguard.MessageFilter
				want []string
			}{
				{parcelguard.MessageFilter{}, []string{"msg-1", "msg-2", "msg-3"}},
				{parcelguard.MessageFilter{ParcelID: "par-1"}, []string{"msg-1", "msg-2"}},
				{parcelguard.MessageFilter{Recipient: "+48600100200"}, []string{"msg-2"}},
				{parcelguard.MessageFilter{Channel: parcelguard.ChannelWebhook}, []string{"msg-3"}},
				{parcelguard.MessageFilter{Kind: parcelguard.MessageReminder}, []string{"msg-2"}},
				{parcelguard.MessageFilter{State: parcelguard.MessageDead}, []string{"msg-1"}},
				{parcelguard.MessageFilter{State: parcelguard.MessagePending}, []string{"msg-2", "msg-3"}},
				{parcelguard.MessageFilter{After: "msg-1", Limit: 1}, []string{"msg-2"}},
			} {
				if got := ids(messages(t, s, c.f)); fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("Messages(%+v) = %v, want %v", c.f, got, c.want)
				}
			}
		})
	})

	// Ensure the backlog counts pending messages due by the moment asked,
	// leased ones included, and none sent, dead or due later.
	t.Run("MessageBacklog", func(t *testing.T) {
		s := open(t)
		backlog := func(now time.Time) (b parcelguard.MessageBacklog) {
			t.Helper()
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
				b, err = tx.MessageBacklog(ctx, now)
				return err
			})
			return b
		}
		if b := backlog(t0.Add(time.Hour)); b.Due != 0 || !b.OldestDue.IsZero() {
			t.Fatalf("empty outbox: backlog %+v", b)
		}
		enqueue(t, s, newMessage("msg-1", "k1", 0), newMessage("msg-2", "k2", time.Second),
			newMessage("msg-3", "k3", 2*time.Second), newMessage("msg-4", "k4", 3*time.Second),
			newMessage("msg-5", "k5", time.Minute))
		claimed := claim(t, s, t0.Add(3*time.Second), 3, time.Minute) // msg-1 to msg-3, leased
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			check(tx.MarkSent(ctx, "msg-1", t0.Add(3*time.Second), ""))
			return tx.MarkDead(ctx, "msg-3", claimed[2].Lease, t0.Add(3*time.Second), "550 no such user")
		})
		for _, c := range []struct {
			now    time.Time
			due    int
			oldest time.Time
		}{
			{t0, 0, time.Time{}},
			{t0.Add(time.Second), 1, t0.Add(time.Second)}, // msg-2, leased
			{t0.Add(59 * time.Second), 2, t0.Add(time.Second)},
			{t0.Add(time.Minute), 3, t0.Add(time.Second)},
		} {
			if b := backlog(c.now); b.Due != c.due || !b.OldestDue.Equal(c.oldest) {
				t.Errorf("backlog at t0+%v = %d oldest %v, want %d oldest %v", c.now.Sub(t0), b.Due, b.OldestDue, c.due, c.oldest)
			}
		}
	})

	t.Run("Mailbox", func(t *testing.T) {
		// Ensure mailbox entries read back intact, filter and page, and a
		// second entry for the same message is not stored.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			enqueue(t, s, newMessage("msg-1", "k1", 0), newMessage("msg-2", "k2", 0))
			e1 := &parcelguard.MailboxEntry{ID: "mbx-1", MessageID: "msg-1", Channel: parcelguard.ChannelEmail,
				Recipient: "anna@example.com", ParcelID: "par-1", KeyID: "k1", Sealed: []byte("sealed-1"), CreatedAt: t0}
			e2 := &parcelguard.MailboxEntry{ID: "mbx-2", MessageID: "msg-2", Channel: parcelguard.ChannelSMS,
				Recipient: "+48600100200", ParcelID: "par-2", KeyID: "k1", Sealed: []byte("sealed-2"), CreatedAt: t0.Add(time.Second)}
			dup := &parcelguard.MailboxEntry{ID: "mbx-3", MessageID: "msg-1", Channel: parcelguard.ChannelEmail,
				Recipient: "x@example.com", KeyID: "k1", Sealed: []byte("x"), CreatedAt: t0}
			var created []bool
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				created = created[:0]
				for _, e := range []*parcelguard.MailboxEntry{e1, e2, dup} {
					ok, err := tx.AddMailboxEntry(ctx, e)
					check(err)
					created = append(created, ok)
				}
				return nil
			})
			equal(t, created, []bool{true, true, false})
			list := func(f parcelguard.MailboxFilter) (out []*parcelguard.MailboxEntry) {
				view(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
					out, err = tx.MailboxEntries(ctx, f)
					return err
				})
				return out
			}
			equal(t, list(parcelguard.MailboxFilter{}), []*parcelguard.MailboxEntry{e1, e2})
			equal(t, list(parcelguard.MailboxFilter{Recipient: "+48600100200"}), []*parcelguard.MailboxEntry{e2})
			equal(t, list(parcelguard.MailboxFilter{ParcelID: "par-1"}), []*parcelguard.MailboxEntry{e1})
			equal(t, list(parcelguard.MailboxFilter{After: "mbx-1", Limit: 5}), []*parcelguard.MailboxEntry{e2})
		})

		// Ensure an entry for a message not in the outbox is refused.
		t.Run("UnknownMessage", func(t *testing.T) {
			s := open(t)
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				_, err := tx.AddMailboxEntry(ctx, &parcelguard.MailboxEntry{MessageID: "msg-x", Channel: parcelguard.ChannelEmail,
					Recipient: "a@example.com", KeyID: "k1", Sealed: []byte("x"), CreatedAt: t0})
				return err
			})
			if err == nil || errors.Is(err, parcelguard.ErrDuplicate) {
				t.Fatalf("got %v, want an error (not a duplicate)", err)
			}
		})
	})
}
