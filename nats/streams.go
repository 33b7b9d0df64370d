package nats

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamOptions tune the streams; zero values take the defaults.
type StreamOptions struct {
	// DedupWindow is how long JetStream remembers event and command ids
	// (Nats-Msg-Id). Default 2 min. The cloud store's unique event id and
	// the locker's used-nonce record are the authoritative deduplication;
	// the window only saves work on quick retries, of which the slowest is a
	// command whose sending was not recorded and whose 30 s lease runs out.
	// The server keeps about 100 bytes per id for the whole window, so at a
	// thousand commands a second an hour-long window held some 400 MB.
	DedupWindow time.Duration
	// MaxAge is how long messages are kept. Default 7 days: a locker
	// offline longer than that is resynchronised, not replayed.
	MaxAge time.Duration
}

func (o StreamOptions) withDefaults() StreamOptions {
	if o.DedupWindow == 0 {
		o.DedupWindow = 2 * time.Minute
	}
	if o.MaxAge == 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	return o
}

// ensureStreams creates or updates EVENTS and COMMANDS. COMMANDS is a work
// queue: each locker's consumer filters its own subject, and a command is
// gone once the locker acks it.
func ensureStreams(ctx context.Context, js jetstream.JetStream, o StreamOptions) error {
	o = o.withDefaults()
	for _, cfg := range []jetstream.StreamConfig{
		{Name: EventsStream, Subjects: []string{eventsWildcard}, Storage: jetstream.FileStorage,
			Retention: jetstream.LimitsPolicy, Duplicates: o.DedupWindow, MaxAge: o.MaxAge},
		{Name: CommandsStream, Subjects: []string{commandsWildcard}, Storage: jetstream.FileStorage,
			Retention: jetstream.WorkQueuePolicy, Duplicates: o.DedupWindow, MaxAge: o.MaxAge},
	} {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// ensureEventsConsumer creates the durable consumer the cloud instances
// share; each event goes to one instance.
func ensureEventsConsumer(ctx context.Context, js jetstream.JetStream, durable string) (jetstream.Consumer, error) {
	c, err := js.CreateOrUpdateConsumer(ctx, EventsStream, jetstream.ConsumerConfig{
		Durable: durable, AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
		DeliverPolicy: jetstream.DeliverAllPolicy, MaxAckPending: 1000,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure consumer %s: %w", durable, err)
	}
	return c, nil
}

// lockerAckWait is short because a locker acks a command as soon as it has
// verified and stored it, and because nats-server before 2.10 may deliver a
// command to a pull request left by the locker's previous connection: the
// command then comes back only after AckWait.
const lockerAckWait = 10 * time.Second

// ensureLockerConsumer creates the locker's durable command consumer. Only
// the cloud creates it; the locker may only read from it, so it cannot
// widen its filter to another locker's commands.
func ensureLockerConsumer(ctx context.Context, js jetstream.JetStream, lockerID string) error {
	_, err := js.CreateOrUpdateConsumer(ctx, CommandsStream, jetstream.ConsumerConfig{
		Durable: LockerDurable(lockerID), FilterSubject: CommandSubject(lockerID),
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: lockerAckWait, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("ensure consumer for locker %s: %w", lockerID, err)
	}
	return nil
}
