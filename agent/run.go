package agent

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/parcelguard/parcelguard/devicemsg"
	"github.com/parcelguard/parcelguard/door"
	pgnats "github.com/parcelguard/parcelguard/nats"
)

// Run connects to the device channel and runs the agent until ctx ends:
// it reads the door sensors, takes commands, flushes the outbox and sends
// heartbeats. Pickups (Pickup, PickupQR) work whether or not the channel
// is up; the outbox keeps their events until it is.
func (a *Agent) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { a.pollDoors(ctx) })
	p := a.cfg.Provisioning
	var l *pgnats.Locker
	for {
		var err error
		l, err = pgnats.ConnectLocker(p.NATSURL, a.site, pgnats.Credentials{User: p.NATSUser, Password: p.NATSPassword}, a.log)
		if err == nil {
			break
		}
		a.log.Warn("device channel unreachable, retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(a.cfg.Flush):
		}
	}
	defer l.Close()
	wg.Go(func() {
		for ctx.Err() == nil {
			if err := l.Commands(ctx, a.HandleCommand); err != nil && ctx.Err() == nil {
				a.log.Warn("commands", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(a.cfg.Flush):
				}
			}
		}
	})
	wg.Go(func() { a.heartbeats(ctx, l) })
	t := time.NewTicker(a.cfg.Flush)
	defer t.Stop()
	for {
		if _, err := a.Flush(ctx, l); err != nil && ctx.Err() == nil {
			a.log.Debug("outbox flush incomplete", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// EventPublisher sends one event and returns once the channel stored it;
// *nats.Locker implements it.
type EventPublisher interface {
	PublishEvent(ctx context.Context, ev devicemsg.Event) (duplicate bool, err error)
}

// Flush sends the outbox's events in order and marks each sent once the
// channel has stored it; it stops at the first failure so the order holds.
// An event may go out twice (a crash between publish and mark); the event
// id makes the channel and the cloud drop the copy.
func (a *Agent) Flush(ctx context.Context, pub EventPublisher) (int, error) {
	sent := 0
	for {
		evs, err := a.store.pendingEvents(ctx, 100)
		if err != nil || len(evs) == 0 {
			return sent, err
		}
		for _, ev := range evs {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := pub.PublishEvent(pctx, ev)
			cancel()
			if err != nil {
				return sent, err
			}
			if err := a.store.markSent(ctx, ev.ID); err != nil {
				return sent, err
			}
			sent++
		}
	}
}

// heartbeats publishes a heartbeat every interval while connected. They do
// not go through the outbox: a heartbeat that cannot be sent is news to
// nobody. Seq is the latest outbox sequence, so the cloud can tell how far
// behind the locker's reports it is.
func (a *Agent) heartbeats(ctx context.Context, pub EventPublisher) {
	for {
		a.mu.Lock()
		every := a.heartbeat
		a.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		seq, err := a.store.lastSeq(ctx)
		if err != nil {
			continue
		}
		ev := a.newEvent(devicemsg.EventHeartbeat, "")
		ev.Seq = max(seq, 1)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if _, err := pub.PublishEvent(pctx, *ev); err != nil {
			a.log.Debug("heartbeat not sent", "err", err)
		}
		cancel()
	}
}

// pollDoors reads the sensors and queues every door event and alarm.
func (a *Agent) pollDoors(ctx context.Context) {
	t := time.NewTicker(a.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.PollDoors(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("door poll", "err", err)
		}
	}
}

// PollDoors reads the sensors once and queues what the door monitor makes
// of the readings.
func (a *Agent) PollDoors(ctx context.Context) error {
	evs, perr := a.monitor.Poll(ctx, a.cfg.Driver)
	var errs []error
	for _, de := range evs {
		kind := devicemsg.EventKind(de.Kind)
		if !kind.Valid() {
			continue // sensor restored, tamper cleared: local log only
		}
		comp := ""
		if c, ok := a.compartmentAt(de.Lock); ok {
			comp = c.ID
		}
		ev := a.newEvent(kind, comp)
		ev.At = de.At
		ev.Data["priority"] = de.Priority.String()
		if de.GrantID != "" {
			if devicemsg.ValidID(de.GrantID) {
				ev.GrantIDs = []string{de.GrantID}
			} else {
				ev.Data["cause"] = de.GrantID
			}
		}
		if de.Detail != "" {
			ev.Data["detail"] = truncate(de.Detail, devicemsg.MaxDataValueLen)
		}
		if de.Priority >= door.PriorityHigh {
			a.log.Warn("door alarm", "kind", de.Kind, "lock", de.Lock)
		}
		errs = append(errs, a.record(ctx, ev))
	}
	if perr != nil {
		errs = append(errs, perr)
	}
	return errors.Join(errs...)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
