package nats

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parcelguard/parcelguard/devicemsg"
)

// Locker is the locker side of the device channel, used by the agent.
type Locker struct {
	id  string
	nc  *natsgo.Conn
	js  jetstream.JetStream
	log *slog.Logger
}

// ConnectLocker connects as lockerID's user. Replies go to the locker's own
// inbox prefix, the only inbox its permissions allow.
func ConnectLocker(url, lockerID string, creds Credentials, log *slog.Logger) (*Locker, error) {
	if err := checkLockerID(lockerID); err != nil {
		return nil, fmt.Errorf("connect locker: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	nc, err := dial(url, creds, log, natsgo.Name("parcelguard-locker-"+lockerID), natsgo.CustomInboxPrefix(InboxPrefix(lockerID)))
	if err != nil {
		return nil, fmt.Errorf("connect locker: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect locker: %w", err)
	}
	return &Locker{id: lockerID, nc: nc, js: js, log: log}, nil
}

// Close closes the connection.
func (l *Locker) Close() { l.nc.Close() }

// PublishEvent sends ev and waits until JetStream has stored it. The event
// id is the Nats-Msg-Id, so the outbox may resend freely: duplicate reports
// that the stream already had it. Only after a nil error may the agent mark
// the outbox row sent.
func (l *Locker) PublishEvent(ctx context.Context, ev devicemsg.Event) (duplicate bool, err error) {
	if ev.LockerID != l.id {
		return false, fmt.Errorf("publish event %s: from %q, but this is locker %q", ev.ID, ev.LockerID, l.id)
	}
	b, err := devicemsg.EncodeEvent(ev)
	if err != nil {
		return false, fmt.Errorf("publish event: %w", err)
	}
	ack, err := l.js.Publish(ctx, EventSubject(l.id, ev.Kind), b, jetstream.WithMsgID(ev.ID))
	if err != nil {
		return false, fmt.Errorf("publish event %s: %w", ev.ID, err)
	}
	return ack.Duplicate, nil
}

// Commands runs handler for each signed command from the locker's durable
// consumer until ctx ends. The handler verifies the command
// (devicemsg.Verifier) and returns nil to ack it; an error wrapping
// ErrReject terminates it (forged, replayed, expired); any other error
// redelivers it. Unacked commands survive reconnects.
func (l *Locker) Commands(ctx context.Context, handler func(context.Context, devicemsg.SignedCommand) error) error {
	cons, err := l.js.Consumer(ctx, CommandsStream, LockerDurable(l.id))
	if err != nil {
		return fmt.Errorf("commands for locker %s: %w", l.id, err)
	}
	err = consume(ctx, l.log, cons, func(ctx context.Context, m jetstream.Msg) error {
		sc, err := devicemsg.DecodeSignedCommand(m.Data())
		if err != nil {
			return fmt.Errorf("%w: %w", ErrReject, err)
		}
		return handler(ctx, sc)
	}, jetstream.PullExpiry(5*time.Second)) // short-lived pull requests leave little behind when the link drops
	if err != nil {
		return fmt.Errorf("commands for locker %s: %w", l.id, err)
	}
	return nil
}
