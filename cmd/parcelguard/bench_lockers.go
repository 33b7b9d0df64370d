package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/parcelguard/parcelguard/agent"
	"github.com/parcelguard/parcelguard/devicemsg"
	pgnats "github.com/parcelguard/parcelguard/nats"
)

// benchLockers stands in for the network's lockers during a bench: each
// provisioned locker's command queue is taken and acked over the device
// channel, as its agent does, so the channel carries the commands away
// instead of keeping them for lockers that never come, and each locker
// publishes the reports the bench gives it. Checking and applying a
// command, and verifying a code before a report, is the locker's own work,
// on its own hardware, so the stand-in leaves it out of the service's
// measurement.
type benchLockers struct {
	dir    string // the provisioning files, DATA-DIR/lockers
	cancel context.CancelFunc
	wg     sync.WaitGroup
	conns  []*pgnats.Locker
	bySite map[string]*pgnats.Locker
	taken  atomic.Int64 // commands acked
}

// start connects every provisioned locker and consumes its commands
// until stop; the lockers connected before a failure are stopped by stop.
func (b *benchLockers) start(ctx context.Context) error {
	if b.cancel != nil {
		return nil // started already: the bench provisions once
	}
	entries, err := os.ReadDir(b.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bench lockers: %w", err)
	}
	ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(b.dir, e.Name()))
		if err != nil {
			return fmt.Errorf("bench lockers: %w", err)
		}
		var p agent.Provisioning
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("bench lockers: %s: %w", e.Name(), err)
		}
		l, err := pgnats.ConnectLocker(p.NATSURL, p.SiteID, pgnats.Credentials{User: p.NATSUser, Password: p.NATSPassword}, slog.New(slog.DiscardHandler))
		if err != nil {
			return fmt.Errorf("bench lockers: %w", err)
		}
		b.conns = append(b.conns, l)
		if b.bySite == nil {
			b.bySite = map[string]*pgnats.Locker{}
		}
		b.bySite[p.SiteID] = l
		b.wg.Go(func() {
			_ = l.Commands(ctx, func(context.Context, devicemsg.SignedCommand) error {
				b.taken.Add(1)
				return nil
			})
		})
	}
	return nil
}

// publish reports ev as its locker and returns once the device channel has
// stored it. The lockers must have started.
func (b *benchLockers) publish(ctx context.Context, ev devicemsg.Event) error {
	l := b.bySite[ev.LockerID]
	if l == nil {
		return fmt.Errorf("bench lockers: no locker online at site %s", ev.LockerID)
	}
	_, err := l.PublishEvent(ctx, ev)
	return err
}

// stop disconnects the lockers.
func (b *benchLockers) stop() {
	if b.cancel != nil {
		b.cancel()
	}
	b.wg.Wait()
	for _, l := range b.conns {
		l.Close()
	}
}
