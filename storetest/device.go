package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

func testDevice(t *testing.T, open Opener) {
	// Ensure a locker record round-trips, is replaced by a second save,
	// and TouchLocker only moves LastSeenAt forward.
	t.Run("Locker", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		l := &parcelguard.Locker{SiteID: w.site.ID, User: "locker-" + w.site.ID, PasswordHash: "$2a$10$x", ProvisionedAt: t0}
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveLocker(ctx, l) })
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			check(tx.TouchLocker(ctx, w.site.ID, t0.Add(time.Hour)))
			return tx.TouchLocker(ctx, w.site.ID, t0.Add(time.Minute)) // older: ignored
		})
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.Locker(ctx, w.site.ID)
			noErr(t, err)
			want := *l
			want.LastSeenAt = t0.Add(time.Hour)
			equal(t, got, &want)
			all, err := tx.Lockers(ctx)
			noErr(t, err)
			equal(t, all, []*parcelguard.Locker{&want})
			_, err = tx.Locker(ctx, "nope")
			wantErr(t, err, parcelguard.ErrNotFound)
			return nil
		})
		err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.TouchLocker(ctx, "nope", t0) })
		wantErr(t, err, parcelguard.ErrNotFound)
		l.PasswordHash = "$2a$10$y"
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveLocker(ctx, l) })
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.Locker(ctx, w.site.ID)
			noErr(t, err)
			equal(t, got.PasswordHash, "$2a$10$y")
			return nil
		})
	})

	// Ensure an event id is recorded once: the second mark reports false,
	// also within one transaction, and the list comes in seq order.
	t.Run("AppliedEvents", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		e2 := &parcelguard.AppliedDeviceEvent{ID: "dev_2", SiteID: w.site.ID, Seq: 2, Kind: "pickup", At: t0, AppliedAt: t0.Add(time.Second)}
		e1 := &parcelguard.AppliedDeviceEvent{ID: "dev_1", SiteID: w.site.ID, Seq: 1, Kind: "door.opened", At: t0, AppliedAt: t0}
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			for i, c := range []struct {
				e    *parcelguard.AppliedDeviceEvent
				want bool
			}{{e2, true}, {e2, false}, {e1, true}} {
				ok, err := tx.MarkDeviceEventApplied(ctx, c.e)
				check(err)
				if ok != c.want {
					t.Errorf("mark %d (%s): got %v, want %v", i, c.e.ID, ok, c.want)
				}
			}
			return nil
		})
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			ok, err := tx.MarkDeviceEventApplied(ctx, e1)
			check(err)
			if ok {
				t.Error("event applied again in a later transaction")
			}
			return nil
		})
		// A rolled-back mark leaves no trace.
		_ = tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			_, err := tx.MarkDeviceEventApplied(ctx, &parcelguard.AppliedDeviceEvent{ID: "dev_3", SiteID: w.site.ID, Seq: 3, Kind: "pickup", At: t0, AppliedAt: t0})
			check(err)
			return parcelguard.ErrConflict
		})
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.AppliedDeviceEvents(ctx, w.site.ID)
			noErr(t, err)
			equal(t, got, []*parcelguard.AppliedDeviceEvent{e1, e2})
			return nil
		})
	})

	// Ensure a claim takes the oldest due commands up to its limit, and
	// the next claim the ones after them.
	t.Run("CommandsClaimOldestFirst", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			for _, id := range []string{"dc_4", "dc_2", "dc_5", "dc_1", "dc_3"} {
				_, err := tx.EnqueueDeviceCommand(ctx, &parcelguard.DeviceCommand{ID: id, IdempotencyKey: "k:" + id, SiteID: w.site.ID,
					Kind: parcelguard.DeviceGrantNew, GrantID: "g_" + id, CreatedAt: t0, DueAt: t0})
				check(err)
			}
			return nil
		})
		for _, want := range [][]string{{"dc_1", "dc_2"}, {"dc_3", "dc_4"}, {"dc_5"}, {}} {
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.ClaimDeviceCommands(ctx, t0, 2, time.Minute)
				check(err)
				ids := []string{}
				for _, c := range got {
					ids = append(ids, c.ID)
					if c.Lease == "" || c.Attempts != 1 || !c.LeasedUntil.Equal(t0.Add(time.Minute)) {
						t.Errorf("claimed %s: lease %q, attempts %d, leased until %v", c.ID, c.Lease, c.Attempts, c.LeasedUntil)
					}
				}
				equal(t, ids, want)
				return nil
			})
		}
	})

	// Ensure the command outbox stores a cause once, claims each command
	// once under a lease, retries only under the lease, and marks sent.
	t.Run("Commands", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		mk := func(id, key string, due time.Time) *parcelguard.DeviceCommand {
			return &parcelguard.DeviceCommand{ID: id, IdempotencyKey: key, SiteID: w.site.ID, Kind: parcelguard.DeviceGrantNew,
				GrantID: "g_" + id, Data: map[string]string{"reason": "x"}, CreatedAt: t0, DueAt: due}
		}
		a, b, c := mk("dc_1", "grant.new:a", t0), mk("dc_2", "grant.new:b", t0), mk("dc_3", "grant.new:c", t0.Add(time.Hour))
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			for _, x := range []*parcelguard.DeviceCommand{a, b, c} {
				ok, err := tx.EnqueueDeviceCommand(ctx, x)
				check(err)
				if !ok {
					t.Errorf("enqueue %s: not stored", x.ID)
				}
			}
			ok, err := tx.EnqueueDeviceCommand(ctx, mk("dc_9", "grant.new:a", t0))
			check(err)
			if ok {
				t.Error("second command with one idempotency key stored")
			}
			return nil
		})
		var claimed []*parcelguard.DeviceCommand
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) (err error) {
			claimed, err = tx.ClaimDeviceCommands(ctx, t0, 10, time.Minute)
			return err
		})
		if len(claimed) != 2 || claimed[0].ID != "dc_1" || claimed[1].ID != "dc_2" || claimed[0].Lease == "" || claimed[0].Attempts != 1 {
			t.Fatalf("claimed %+v, want dc_1 and dc_2 leased", claimed)
		}
		equal(t, claimed[0].Data, map[string]string{"reason": "x"})
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			again, err := tx.ClaimDeviceCommands(ctx, t0.Add(time.Second), 10, time.Minute)
			check(err)
			if len(again) != 0 {
				t.Errorf("leased commands claimed again: %d", len(again))
			}
			return nil
		})
		err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			return tx.MarkDeviceCommandRetry(ctx, "dc_1", "wrong-lease", t0, "x")
		})
		wantErr(t, err, parcelguard.ErrConflict)
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			check(tx.MarkDeviceCommandRetry(ctx, "dc_1", claimed[0].Lease, t0.Add(2*time.Minute), "unreachable"))
			check(tx.MarkDeviceCommandsSent(ctx, []string{"dc_2"}, t0.Add(time.Second)))
			check(tx.MarkDeviceCommandsSent(ctx, nil, t0))
			return tx.MarkDeviceCommandsSent(ctx, []string{"dc_2", "dc_2"}, t0.Add(time.Hour)) // already sent: no-op
		})
		err = tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			return tx.MarkDeviceCommandsSent(ctx, []string{"dc_2", "nope"}, t0)
		})
		wantErr(t, err, parcelguard.ErrNotFound)
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			sent, err := tx.DeviceCommands(ctx, parcelguard.DeviceCommandFilter{State: parcelguard.DeviceCommandSent})
			noErr(t, err)
			if len(sent) != 1 || sent[0].ID != "dc_2" || !sent[0].SentAt.Equal(t0.Add(time.Second)) {
				t.Errorf("sent commands %+v", sent)
			}
			pending, err := tx.DeviceCommands(ctx, parcelguard.DeviceCommandFilter{SiteID: w.site.ID, State: parcelguard.DeviceCommandPending})
			noErr(t, err)
			if len(pending) != 2 || pending[0].ID != "dc_1" || pending[0].LastError != "unreachable" || pending[0].Lease != "" {
				t.Errorf("pending commands %+v", pending)
			}
			return nil
		})
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.ClaimDeviceCommands(ctx, t0.Add(2*time.Hour), 10, time.Minute)
			check(err)
			if len(got) != 2 || got[0].ID != "dc_1" || got[0].Attempts != 2 || got[1].ID != "dc_3" {
				t.Errorf("claim after retry due: %+v", got)
			}
			return nil
		})
	})
}
