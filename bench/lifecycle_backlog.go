package bench

import (
	"context"
	"time"

	"github.com/parcelguard/parcelguard"
)

// backlogMargin is how far before the oldest pending message (or now) the
// next count starts: a transaction that enqueued a message may commit a
// little after the id's time, never this much.
const backlogMargin = 10 * time.Second

// backlog counts the outbox's pending messages. Listing them by state
// walks the outbox in id order, which over a long run holds millions of
// sent messages, so each count starts from a cursor just before the
// oldest message that can still be pending: ids sort by creation time.
type backlog struct {
	store parcelguard.Store
	from  time.Time // messages created before it are all sent
}

// deviceBacklog counts the device outbox's pending commands: the grants
// and revokes on their way to the lockers. It lists them by state, which
// its index serves without walking the sent ones.
func deviceBacklog(ctx context.Context, store parcelguard.Store) (int, error) {
	var pending []*parcelguard.DeviceCommand
	err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
		pending, err = tx.DeviceCommands(ctx, parcelguard.DeviceCommandFilter{State: parcelguard.DeviceCommandPending})
		return err
	})
	return len(pending), err
}

// count returns how many messages are pending now.
func (b *backlog) count(ctx context.Context) (int, error) {
	now := time.Now()
	after := ""
	if !b.from.IsZero() {
		after = parcelguard.NewID("msg", b.from)
	}
	n := 0
	var oldest time.Time
	for {
		var page []*parcelguard.Message
		err := b.store.View(ctx, func(tx parcelguard.Tx) (err error) {
			page, err = tx.Messages(ctx, parcelguard.MessageFilter{State: parcelguard.MessagePending, After: after, Limit: checkPage})
			return err
		})
		if err != nil {
			return 0, err
		}
		if n == 0 && len(page) > 0 {
			oldest = page[0].CreatedAt
		}
		n += len(page)
		if len(page) < checkPage {
			break
		}
		after = page[len(page)-1].ID
	}
	b.from = now.Add(-backlogMargin)
	if !oldest.IsZero() && oldest.Add(-backlogMargin).Before(b.from) {
		b.from = oldest.Add(-backlogMargin)
	}
	return n, nil
}
