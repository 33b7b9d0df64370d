package bench

import (
	"context"
	"time"

	"github.com/parcelguard/parcelguard"
)

// outboxBacklog counts the outbox's messages due and not yet sent, as
// /metrics reports them: from the index the dispatcher claims by, so a
// count costs the backlog and not the millions of messages a long run
// has sent.
func outboxBacklog(ctx context.Context, store parcelguard.Store) (int, error) {
	var b parcelguard.MessageBacklog
	err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
		b, err = tx.MessageBacklog(ctx, time.Now())
		return err
	})
	return b.Due, err
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
