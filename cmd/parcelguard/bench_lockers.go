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
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	conns  []*pgnats.Locker
	bySite map[string]*pgnats.Locker
	taken  atomic.Int64 // commands acked
}

// start connects every provisioned locker not yet online and consumes its
// commands until stop; the lockers connected before a failure are stopped
// by stop. The bench calls it again after provisioning more lockers.
func (b *benchLockers) start(ctx context.Context) error {
	entries, err := os.ReadDir(b.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bench lockers: %w", err)
	}
	if b.cancel == nil {
		b.ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
		b.bySite = map[string]*pgnats.Locker{}
	}
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
		if b.bySite[p.SiteID] != nil {
			continue
		}
		l, err := pgnats.ConnectLocker(p.NATSURL, p.SiteID, pgnats.Credentials{User: p.NATSUser, Password: p.NATSPassword}, slog.New(slog.DiscardHandler))
		if err != nil {
			return fmt.Errorf("bench lockers: %w", err)
		}
		b.conns = append(b.conns, l)
		b.bySite[p.SiteID] = l
		b.wg.Go(func() {
			_ = l.Commands(b.ctx, func(context.Context, devicemsg.SignedCommand) error {
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
