package nats

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parcelguard/parcelguard/devicemsg"
)

// ErrReject, wrapped by a handler's error, says the message can never
// succeed (malformed, forged, replayed): it is terminated instead of
// redelivered.
var ErrReject = errors.New("message rejected")

// nakDelay is how long a failed message waits before redelivery, so a
// handler failing on a down database does not spin.
var nakDelay = time.Second

// settle acknowledges m according to its handler's result: ack on success,
// terminate if rejected, otherwise nak so it is redelivered after nakDelay.
func settle(log *slog.Logger, m jetstream.Msg, err error) {
	switch {
	case err == nil:
		err = m.Ack()
	case errors.Is(err, ErrReject):
		log.Warn("nats: message rejected", "subject", m.Subject(), "err", err)
		err = m.Term()
	default:
		log.Info("nats: handler failed, redelivering", "subject", m.Subject(), "err", err)
		err = m.NakWithDelay(nakDelay)
	}
	if err != nil {
		log.Warn("nats: ack failed", "subject", m.Subject(), "err", err)
	}
}

// logConsumeErrors logs the consumer's asynchronous errors (missed
// heartbeats, reconnects); nats.go recovers from them by itself.
func logConsumeErrors(log *slog.Logger) jetstream.PullConsumeOpt {
	return jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		log.Warn("nats: consume", "err", err)
	})
}

// consume runs handle for each message of cons until ctx ends, one at a
// time in delivery order, acking on success, naking on failure and
// terminating rejected messages.
func consume(ctx context.Context, log *slog.Logger, cons jetstream.Consumer, handle func(context.Context, jetstream.Msg) error, opts ...jetstream.PullConsumeOpt) error {
	cc, err := cons.Consume(func(m jetstream.Msg) {
		settle(log, m, handle(ctx, m))
	}, append(opts, logConsumeErrors(log))...)
	if err != nil {
		return err
	}
	<-ctx.Done()
	cc.Stop()
	<-cc.Closed()
	return nil
}

// defaultEventWorkers is CloudOptions.EventWorkers's default: enough
// concurrent transactions for the store's group commit to batch, far
// below the events consumer's MaxAckPending. On two cores, lockers'
// pickup reports applied on SQLite came 6.4 to a commit with 32 workers
// and 4.7 with 16, and the service applied 8 % more of them a second.
const defaultEventWorkers = 32

// eventQueueLen is how many decoded events each worker may have waiting.
// MaxAckPending already bounds the events in flight; the queue only lets
// a burst from one locker wait without pausing the other workers.
const eventQueueLen = 64

// queuedEvent is a decoded event and the message to acknowledge for it.
type queuedEvent struct {
	ev devicemsg.Event
	m  jetstream.Msg
}

// consumeEvents runs handle for each event of cons until ctx ends, on
// workers goroutines. An event goes to the worker its locker hashes to,
// so one locker's events are handled one at a time in delivery order
// while different lockers' events are handled concurrently. decode turns
// a message into its event; an error from it (wrapping ErrReject) settles
// the message at once. consumeEvents returns only after every handler
// call it started has returned.
func consumeEvents(ctx context.Context, log *slog.Logger, cons jetstream.Consumer, workers int,
	decode func(jetstream.Msg) (devicemsg.Event, error), handle func(context.Context, devicemsg.Event) error) error {
	queues := make([]chan queuedEvent, workers)
	for i := range queues {
		queues[i] = make(chan queuedEvent, eventQueueLen)
	}
	// nats.go calls this serially, in delivery order, and waits for it:
	// blocking on a full queue is the backpressure.
	cc, err := cons.Consume(func(m jetstream.Msg) {
		ev, err := decode(m)
		if err != nil {
			settle(log, m, err)
			return
		}
		select {
		case queues[shard(ev.LockerID, workers)] <- queuedEvent{ev, m}:
		case <-ctx.Done(): // shutting down: left unacked, see below
		}
	}, logConsumeErrors(log))
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, q := range queues {
		wg.Go(func() { handleQueue(ctx, log, q, handle) })
	}
	<-ctx.Done()
	// The queues are never closed: Closed does not promise that a
	// callback still running has returned, and sending on a closed
	// channel would panic. Instead the callback and the workers both stop
	// at ctx's end, and events still queued stay unacked: JetStream
	// redelivers them after AckWait, as it does the messages nats.go had
	// buffered when Stop discarded them.
	cc.Stop()
	<-cc.Closed()
	wg.Wait()
	return nil
}

// handleQueue is one worker of consumeEvents: it handles and settles q's
// events in order until ctx ends, finishing the one it is handling.
func handleQueue(ctx context.Context, log *slog.Logger, q <-chan queuedEvent, handle func(context.Context, devicemsg.Event) error) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-q:
			if ctx.Err() != nil {
				return // select picks at random when both are ready
			}
			settle(log, e.m, handle(ctx, e.ev))
		}
	}
}

// shard returns the worker, of n, that handles lockerID's events: always
// the same one, which keeps the locker's events in order.
func shard(lockerID string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(lockerID))
	return int(h.Sum32() % uint32(n))
}
