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

// Cloud is the cloud side of the device channel. Several serve instances
// may each hold one; they share the events consumer.
type Cloud struct {
	nc  *natsgo.Conn
	js  jetstream.JetStream
	log *slog.Logger
	// EventsDurable names the shared events consumer.
	eventsDurable string
	// eventWorkers is how many events ConsumeEvents handles at once.
	eventWorkers int
}

// CloudOptions configure Connect; zero values take the defaults.
type CloudOptions struct {
	Streams StreamOptions
	// EventsDurable defaults to DefaultEventsDurable. Instances with the
	// same name share the work.
	EventsDurable string
	// EventWorkers is how many events ConsumeEvents handles at once, each
	// locker's still one at a time; zero or less means 32. One makes it
	// serial.
	EventWorkers int
	Logger       *slog.Logger
}

// Connect connects to the embedded or an external server as the cloud user
// and creates or updates the streams.
func Connect(ctx context.Context, url string, creds Credentials, o CloudOptions) (*Cloud, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.EventsDurable == "" {
		o.EventsDurable = DefaultEventsDurable
	}
	if o.EventWorkers <= 0 {
		o.EventWorkers = defaultEventWorkers
	}
	nc, err := dial(url, creds, o.Logger, natsgo.Name("parcelguard-cloud"))
	if err != nil {
		return nil, fmt.Errorf("connect cloud: %w", err)
	}
	// An async publish the server never acknowledges (the connection
	// dropped meanwhile) fails after publishAckTimeout instead of
	// staying pending.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(publishAckTimeout))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect cloud: %w", err)
	}
	if err := ensureStreams(ctx, js, o.Streams); err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect cloud: %w", err)
	}
	return &Cloud{nc: nc, js: js, log: o.Logger, eventsDurable: o.EventsDurable, eventWorkers: o.EventWorkers}, nil
}

// Close closes the connection.
func (c *Cloud) Close() { c.nc.Close() }

// EnsureLocker creates the locker's durable command consumer. Commands
// published before it exists wait in the stream and are delivered then.
func (c *Cloud) EnsureLocker(ctx context.Context, lockerID string) error {
	if err := checkLockerID(lockerID); err != nil {
		return fmt.Errorf("ensure locker: %w", err)
	}
	return ensureLockerConsumer(ctx, c.js, lockerID)
}

// PublishCommand stores a signed command for lockerID and waits for
// JetStream's ack. The command id is the Nats-Msg-Id, so a retried publish
// is stored once. It refuses a command addressed to another locker: the
// locker would refuse it anyway, so that is a bug here.
func (c *Cloud) PublishCommand(ctx context.Context, lockerID string, sc devicemsg.SignedCommand) error {
	return c.PublishCommands(ctx, []devicemsg.Outgoing{{LockerID: lockerID, Command: sc}})[0]
}

// publishAckTimeout bounds the wait for the server to store a command.
const publishAckTimeout = 10 * time.Second

// PublishCommands publishes the commands in order, each to its locker's
// queue, without waiting for one to be stored before sending the next,
// and returns each one's error: nil once the queue has it. A locker's
// commands are stored in the order given.
func (c *Cloud) PublishCommands(ctx context.Context, out []devicemsg.Outgoing) []error {
	errs := make([]error, len(out))
	ids := make([]string, len(out))
	acks := make([]jetstream.PubAckFuture, len(out))
	for i, o := range out {
		id, b, err := encodeOutgoing(o.LockerID, o.Command)
		if err != nil {
			errs[i] = err
			continue
		}
		ids[i] = id
		if acks[i], err = c.js.PublishAsync(CommandSubject(o.LockerID), b, jetstream.WithMsgID(id)); err != nil {
			errs[i] = fmt.Errorf("publish command %s: %w", id, err)
		}
	}
	for i, ack := range acks {
		if ack == nil {
			continue
		}
		select {
		case <-ack.Ok():
		case err := <-ack.Err():
			errs[i] = fmt.Errorf("publish command %s: %w", ids[i], err)
		case <-ctx.Done():
			errs[i] = fmt.Errorf("publish command %s: %w", ids[i], ctx.Err())
		}
	}
	return errs
}

// encodeOutgoing checks that sc is addressed to lockerID and returns its
// id and wire form.
func encodeOutgoing(lockerID string, sc devicemsg.SignedCommand) (string, []byte, error) {
	cmd, err := devicemsg.DecodeCommand(sc.Command)
	if err != nil {
		return "", nil, fmt.Errorf("publish command: %w", err)
	}
	if cmd.LockerID != lockerID {
		return "", nil, fmt.Errorf("publish command %s: addressed to %q, not %q", cmd.ID, cmd.LockerID, lockerID)
	}
	b, err := devicemsg.EncodeSignedCommand(sc)
	if err != nil {
		return "", nil, fmt.Errorf("publish command %s: %w", cmd.ID, err)
	}
	return cmd.ID, b, nil
}

// ConsumeEvents runs handler for each event until ctx ends, through the
// durable consumer shared by all cloud instances: each event goes to one
// instance, is acked after handler succeeds and redelivered if it fails.
// Delivery is at least once; handler must be idempotent by event id.
// An event whose body names another locker or kind than its subject is
// terminated: the subject is what the server's permissions vouch for.
//
// A handler call is typically a transaction waiting for its own commit,
// and the store commits concurrent transactions together, so handling
// events one at a time would cap the whole network at one commit latency
// per event. ConsumeEvents therefore runs handler on
// CloudOptions.EventWorkers goroutines at once, and handler must be safe
// for concurrent use. All of one locker's events go to the same goroutine
// and are handled one at a time in the order delivered (a failed event
// still comes back after the locker's later ones, and instances sharing
// the consumer may split a locker's events between them).
// ConsumeEvents returns only after every handler call has returned;
// events received but not yet handled by then are left unacked and
// redelivered after the consumer's AckWait.
func (c *Cloud) ConsumeEvents(ctx context.Context, handler func(context.Context, devicemsg.Event) error) error {
	cons, err := ensureEventsConsumer(ctx, c.js, c.eventsDurable)
	if err != nil {
		return fmt.Errorf("consume events: %w", err)
	}
	if err := consumeEvents(ctx, c.log, cons, c.eventWorkers, decodeEventMsg, handler); err != nil {
		return fmt.Errorf("consume events: %w", err)
	}
	return nil
}

// decodeEventMsg returns the event m carries, rejecting it if its subject
// or body is malformed or they disagree on the locker or kind.
func decodeEventMsg(m jetstream.Msg) (devicemsg.Event, error) {
	lockerID, kind, err := parseEventSubject(m.Subject())
	if err != nil {
		return devicemsg.Event{}, fmt.Errorf("%w: %w", ErrReject, err)
	}
	ev, err := devicemsg.DecodeEvent(m.Data())
	if err != nil {
		return devicemsg.Event{}, fmt.Errorf("%w: from locker %s: %w", ErrReject, lockerID, err)
	}
	if ev.LockerID != lockerID || ev.Kind != kind {
		return devicemsg.Event{}, fmt.Errorf("%w: event %s claims locker %q kind %q on subject %s", ErrReject, ev.ID, ev.LockerID, ev.Kind, m.Subject())
	}
	return ev, nil
}

// dialTimeout bounds the connection handshake.
const dialTimeout = 10 * time.Second

// dial connects with credentials, reconnecting forever: a locker or cloud
// instance must survive server restarts.
func dial(url string, creds Credentials, log *slog.Logger, opts ...natsgo.Option) (*natsgo.Conn, error) {
	opts = append(opts,
		natsgo.UserInfo(creds.User, creds.Password),
		natsgo.MaxReconnects(-1),
		// A loaded machine (or a locker on a slow link) may take seconds
		// to answer the handshake; nats.go's default gives up after 2 s.
		natsgo.Timeout(dialTimeout),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, sub *natsgo.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Warn("nats: async error", "user", creds.User, "subject", subject, "err", err)
		}),
	)
	nc, err := natsgo.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s as %s: %w", url, creds.User, err)
	}
	return nc, nil
}
