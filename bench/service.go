package bench

import (
	"context"
	"errors"
	"fmt"
	nethttp "net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/client"
	"github.com/parcelguard/parcelguard/service"
)

// pollEvery is how often the bench looks whether the scheduler or the
// outbox is done.
const pollEvery = 10 * time.Millisecond

// runService measures the same work through a running service: deposits
// by couriers and pickups by kiosks over the HTTP API, expiries by its
// scheduler. floor sizes the parcel pools; drain is how long the outbox
// took to empty after each phase.
func runService(ctx context.Context, cfg Config, e Engine, p *progress, floor [3]Stats) (stats [3]Stats, drain [3]time.Duration, err error) {
	p.setLabel(e.Name + " service: starting")
	s, err := e.Start(ctx)
	if err != nil {
		return stats, drain, err
	}
	defer func() { err = errors.Join(err, s.Stop()) }()
	// A service faster than its floor would run its pool dry and end the
	// phase early, with its ops/s still right.
	w, err := newWorld(ctx, s.Svc, s.Store, poolSize(max(floor[0].OpsPerSec*1.25, 50), cfg))
	if err != nil {
		return stats, drain, err
	}
	courier, kiosks, closeIdle, err := clients(ctx, s, w, cfg.Concurrency)
	if err != nil {
		return stats, drain, err
	}
	defer closeIdle()

	p.setLabel(e.Name + " service: deposit")
	deposited, st, err := measure(ctx, cfg, p, w.all(), func(ctx context.Context, _ int, i int) error {
		x, err := courier.Deposit(ctx, w.items[i].parcel)
		if err == nil && x.State != string(parcelguard.ParcelDeposited) {
			err = fmt.Errorf("parcel %s is %s after deposit", x.ID, x.State)
		}
		return err
	})
	if err != nil {
		return stats, drain, fmt.Errorf("deposit: %w", err)
	}
	stats[0] = st
	if drain[0], err = drainOutbox(ctx, s.Store); err != nil {
		return stats, drain, err
	}

	pick, rest := split(deposited)
	p.setLabel(e.Name + " service: reading PINs")
	if err := readPINs(ctx, s.Svc, w, pick, cfg.Concurrency); err != nil {
		return stats, drain, err
	}
	p.setLabel(e.Name + " service: pickup")
	digits := parcelguard.Recipient{Phone: recipientPhone}.PhoneDigits(parcelguard.PhoneFactorDigits)
	picked, st, err := measure(ctx, cfg, p, pick, func(ctx context.Context, _ int, i int) error {
		it := &w.items[i]
		res, err := kiosks[it.site].Pickup(ctx, it.site, it.pin, digits)
		if err == nil && res.ParcelID != it.parcel {
			err = fmt.Errorf("pickup opened %s, want %s", res.ParcelID, it.parcel)
		}
		return err
	})
	if err != nil {
		return stats, drain, fmt.Errorf("pickup: %w", err)
	}
	stats[1] = st
	if drain[1], err = drainOutbox(ctx, s.Store); err != nil {
		return stats, drain, err
	}

	expire := append(rest, notIn(pick, picked)...)
	if limit := poolSize(max(floor[2].OpsPerSec, 50), cfg); len(expire) > limit {
		expire = expire[:limit]
	}
	p.setLabel(e.Name + " service: expiry")
	if stats[2], err = expireAll(ctx, s.Store, w, expire, p, cfg.Duration); err != nil {
		return stats, drain, fmt.Errorf("expiry: %w", err)
	}
	if drain[2], err = drainOutbox(ctx, s.Store); err != nil {
		return stats, drain, err
	}
	return stats, drain, nil
}

// clients makes the API keys of a courier and of each site's kiosk and
// returns their clients, all sharing one transport that keeps a
// connection per worker. Retries are off: every failure counts.
func clients(ctx context.Context, s *Service, w *world, workers int) (*client.Client, map[string]*client.Client, func(), error) {
	tr := nethttp.DefaultTransport.(*nethttp.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 2*workers, 2*workers
	hc := &nethttp.Client{Transport: tr, Timeout: time.Minute}
	base, err := client.New(s.URL, client.WithHTTPClient(hc), client.WithRetry(client.RetryPolicy{MaxAttempts: 1}),
		client.WithUserAgent("parcelguard-bench"))
	if err != nil {
		return nil, nil, nil, err
	}
	token, _, err := s.Svc.CreateAPIKey(ctx, parcelguard.System, service.NewAPIKeyInput{Role: parcelguard.RoleCourier,
		CarrierID: w.carrier.ID, Name: "bench courier"})
	if err != nil {
		return nil, nil, nil, err
	}
	courier := base.WithToken(token)
	kiosks := map[string]*client.Client{}
	for _, site := range w.sites {
		token, _, err := s.Svc.CreateAPIKey(ctx, parcelguard.System, service.NewAPIKeyInput{Role: parcelguard.RoleKiosk,
			SiteID: site.ID, Name: "bench kiosk"})
		if err != nil {
			return nil, nil, nil, err
		}
		kiosks[site.ID] = base.WithToken(token)
	}
	return courier, kiosks, tr.CloseIdleConnections, nil
}

// readPINs learns the PINs of the items as the recipients would, from the
// sealed copy the deposit notice is rendered from.
func readPINs(ctx context.Context, svc *service.Service, w *world, items []int, workers int) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				pin, _, err := svc.PickupCode(ctx, w.items[i].parcel)
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					continue
				}
				w.items[i].pin = pin
			}
		})
	}
	for _, i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// expireAll makes the items' expiry timers due at one moment a little
// ahead, and measures how long the running scheduler takes to fire them
// all: from that moment until no timer is due and every item is expired.
func expireAll(ctx context.Context, store parcelguard.Store, w *world, items []int, p *progress, limit time.Duration) (Stats, error) {
	// Rescheduling must be done before the moment, or the scheduler would
	// start early; a late finish only makes the measure conservative.
	at := time.Now().Add(500*time.Millisecond + time.Duration(len(items))*50*time.Microsecond).Truncate(time.Millisecond)
	for from := 0; from < len(items); from += seedChunk {
		chunk := items[from:min(from+seedChunk, len(items))]
		err := store.Update(ctx, func(tx parcelguard.Tx) error {
			for _, i := range chunk {
				if err := tx.ScheduleTimer(ctx, &parcelguard.Timer{ID: parcelguard.NewID("tmr", at), Kind: parcelguard.TimerExpiry,
					ParcelID: w.items[i].parcel, DueAt: at}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return Stats{}, fmt.Errorf("reschedule expiry timers: %w", err)
		}
	}
	if wait := time.Until(at); wait > 0 {
		select {
		case <-ctx.Done():
			return Stats{}, ctx.Err()
		case <-time.After(wait):
		}
	}
	var fired atomic.Int64
	p.startPhase(limit, &fired)
	defer p.endPhase()
	next := 0 // items before next are known to be expired
	for {
		var due []*parcelguard.Timer
		now := time.Now()
		err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
			if due, err = tx.DueTimers(ctx, now, 1); err != nil || len(due) > 0 {
				return err
			}
			// No timer is due: check the items, from where the last
			// look stopped, since a claimed timer may not have committed.
			for ; next < len(items); next++ {
				x, err := tx.Parcel(ctx, w.items[items[next]].parcel)
				if err != nil {
					return err
				}
				if x.State != parcelguard.ParcelExpired {
					return nil
				}
				fired.Store(int64(next + 1))
			}
			return nil
		})
		if err != nil {
			return Stats{}, err
		}
		if len(due) == 0 && next == len(items) {
			return throughput(len(items), now.Sub(at)), nil
		}
		select {
		case <-ctx.Done():
			return Stats{}, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// drainOutbox waits until the outbox has no pending message and returns
// how long that took.
func drainOutbox(ctx context.Context, store parcelguard.Store) (time.Duration, error) {
	start := time.Now()
	for {
		var pending []*parcelguard.Message
		err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
			pending, err = tx.Messages(ctx, parcelguard.MessageFilter{State: parcelguard.MessagePending, Limit: 1})
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("outbox: %w", err)
		}
		if len(pending) == 0 {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}
