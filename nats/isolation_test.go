package nats

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parcelguard/parcelguard/devicemsg"
)

// Ensure a locker can neither publish to another locker's subjects nor read
// another locker's commands, while its own subjects work.
func TestLockerIsolation(t *testing.T) {
	forEachServer(t, func(t *testing.T, env testEnv) {
		connectCloud(t, env, "") // streams and consumers
		la := connectLocker(t, env, "la")
		ctx := context.Background()
		short := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, time.Second) }

		// denied runs op on a fresh connection of la and expects a
		// permissions violation from the server.
		denied := func(name string, op func(nc *natsgo.Conn) error) {
			t.Helper()
			l := connectLocker(t, env, "la")
			opErr := op(l.nc)
			if err := l.nc.Flush(); err != nil && opErr == nil {
				opErr = err
			}
			last := l.nc.LastError()
			if !errors.Is(last, natsgo.ErrPermissionViolation) {
				t.Errorf("%s: got op error %v, last error %v; want a permissions violation", name, opErr, last)
			}
		}
		ev, _ := devicemsg.EncodeEvent(newEvent("lb", devicemsg.EventPickup))
		denied("publish lb event", func(nc *natsgo.Conn) error {
			return nc.Publish(EventSubject("lb", devicemsg.EventPickup), ev)
		})
		denied("publish lb command", func(nc *natsgo.Conn) error { return nc.Publish(CommandSubject("lb"), []byte("{}")) })
		// Nor may a locker queue commands for itself: only the cloud does.
		denied("publish own command", func(nc *natsgo.Conn) error { return nc.Publish(CommandSubject("la"), []byte("{}")) })
		denied("publish cloud-wide subject", func(nc *natsgo.Conn) error { return nc.Publish("pg.locker.la", []byte("{}")) })
		denied("subscribe lb commands", func(nc *natsgo.Conn) error {
			_, err := nc.SubscribeSync(CommandSubject("lb"))
			return err
		})
		denied("subscribe all lockers", func(nc *natsgo.Conn) error {
			_, err := nc.SubscribeSync("pg.locker.>")
			return err
		})
		denied("subscribe shared inbox", func(nc *natsgo.Conn) error {
			_, err := nc.SubscribeSync("_INBOX.>")
			return err
		})
		denied("subscribe lb inbox", func(nc *natsgo.Conn) error {
			_, err := nc.SubscribeSync(InboxPrefix("lb") + ".>")
			return err
		})
		denied("pull from lb consumer", func(nc *natsgo.Conn) error {
			_, err := nc.Request("$JS.API.CONSUMER.MSG.NEXT."+CommandsStream+"."+LockerDurable("lb"), []byte(`{"batch":1}`), time.Second)
			return err
		})
		denied("create consumer on lb commands", func(nc *natsgo.Conn) error {
			js, _ := jetstream.New(nc)
			c, cancel := short()
			defer cancel()
			_, err := js.CreateConsumer(c, CommandsStream, jetstream.ConsumerConfig{Durable: "evil", FilterSubject: CommandSubject("lb")})
			return err
		})
		denied("delete stream", func(nc *natsgo.Conn) error {
			js, _ := jetstream.New(nc)
			c, cancel := short()
			defer cancel()
			return js.DeleteStream(c, EventsStream)
		})

		// The JetStream API says no as well (the request goes unanswered).
		c, cancel := short()
		defer cancel()
		if _, err := la.js.Consumer(c, CommandsStream, LockerDurable("lb")); err == nil {
			t.Error("la looked up lb's consumer")
		}
		c2, cancel2 := short()
		defer cancel2()
		if _, err := la.js.Publish(c2, EventSubject("lb", devicemsg.EventPickup), ev); err == nil {
			t.Error("la's JetStream publish to lb's events was acked")
		}

		// la's own subjects work.
		if _, err := la.PublishEvent(ctx, newEvent("la", devicemsg.EventDeposit)); err != nil {
			t.Fatalf("la publish own event: %v", err)
		}
		c3, cancel3 := short()
		defer cancel3()
		if _, err := la.js.Consumer(c3, CommandsStream, LockerDurable("la")); err != nil {
			t.Fatalf("la own consumer: %v", err)
		}
		if err := la.nc.LastError(); err != nil && strings.Contains(err.Error(), "la.") {
			t.Fatalf("own subjects raised %v", err)
		}
	})
}
