package nats

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrReject, wrapped by a handler's error, says the message can never
// succeed (malformed, forged, replayed): it is terminated instead of
// redelivered.
var ErrReject = errors.New("message rejected")

// nakDelay is how long a failed message waits before redelivery, so a
// handler failing on a down database does not spin.
var nakDelay = time.Second

// consume runs handle for each message of cons until ctx ends, acking on
// success, naking on failure and terminating rejected messages.
func consume(ctx context.Context, log *slog.Logger, cons jetstream.Consumer, handle func(context.Context, jetstream.Msg) error, opts ...jetstream.PullConsumeOpt) error {
	cc, err := cons.Consume(func(m jetstream.Msg) {
		err := handle(ctx, m)
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
	}, append(opts, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		log.Warn("nats: consume", "err", err)
	}))...)
	if err != nil {
		return err
	}
	<-ctx.Done()
	cc.Stop()
	<-cc.Closed()
	return nil
}
