package bench

import (
	"context"
	"fmt"
	nethttp "net/http"
	"sync/atomic"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/client"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// pollEvery is how often the bench looks whether the scheduler or the
// outbox is done.
const pollEvery = 20 * time.Millisecond

// serviceRun is a running service of one engine, its parcels and clients.
type serviceRun struct {
	s          *Service
	w          *world
	courier    *client.Client
	kiosks     map[string]*client.Client
	closeIdle  func()
	pick, rest []int
	picked     []int
}

func startService(ctx context.Context, e Engine) (*serviceRun, error) {
	s, err := e.Start(ctx)
	if err != nil {
		return nil, err
	}
	return &serviceRun{s: s}, nil
}

func (r *serviceRun) stop() error {
	if r.closeIdle != nil {
		r.closeIdle()
	}
	return r.s.Stop()
}

// seed creates the service's network with n parcels and the clients. A
// service faster than its floor would run its pool dry and end the phase
// early, with its ops/s still right.
func (r *serviceRun) seed(ctx context.Context, n, workers int) (err error) {
	if r.w, err = newWorld(ctx, r.s.Svc, r.s.Store, n); err != nil {
		return err
	}
	if r.courier, r.kiosks, r.closeIdle, err = clients(ctx, r.s, r.w, workers); err != nil {
		return err
	}
	if r.s.Settle != nil {
		if err := r.s.Settle(ctx); err != nil {
			return fmt.Errorf("settle: %w", err)
		}
	}
	_, err = drainOutbox(ctx, r.s.Store)
	return err
}

// deposit measures couriers' deposits over the API. Its CPU time counts
// until the outbox has sent the deposit notices.
func (r *serviceRun) deposit(ctx context.Context, cfg Config, p *progress) (Stats, time.Duration, error) {
	m := startMeter(r.s.Writer)
	deposited, st, err := measure(ctx, cfg, p, indexes(len(r.w.items)), func(ctx context.Context, _ int, i int) error {
		x, err := r.courier.Deposit(ctx, r.w.items[i].parcel)
		if err == nil && x.State != string(parcelguard.ParcelDeposited) {
			err = fmt.Errorf("parcel %s is %s after deposit", x.ID, x.State)
		}
		return err
	})
	if err != nil {
		return st, 0, err
	}
	drain, err := drainOutbox(ctx, r.s.Store)
	r.pick, r.rest = split(deposited)
	return m.stats(st), drain, err
}

// pickup measures kiosks' pickups with the recipients' PINs over the API.
func (r *serviceRun) pickup(ctx context.Context, cfg Config, p *progress) (Stats, time.Duration, error) {
	if err := readPINs(ctx, r.s.Svc, r.w, r.pick, cfg.Concurrency); err != nil {
		return Stats{}, 0, err
	}
	digits := parcelguard.Recipient{Phone: recipientPhone}.PhoneDigits(parcelguard.PhoneFactorDigits)
	m := startMeter(r.s.Writer)
	picked, st, err := measure(ctx, cfg, p, r.pick, func(ctx context.Context, _ int, i int) error {
		it := &r.w.items[i]
		res, err := r.kiosks[it.site].Pickup(ctx, it.site, it.pin, digits)
		if err == nil && res.ParcelID != it.parcel {
			err = fmt.Errorf("pickup opened %s, want %s", res.ParcelID, it.parcel)
		}
		return err
	})
	if err != nil {
		return st, 0, err
	}
	r.picked = picked
	drain, err := drainOutbox(ctx, r.s.Store)
	return m.stats(st), drain, err
}

// seedDoorstep sends n doorstep parcels out for delivery and learns their
// passwords, then waits for the outbox to send the password messages, so
// that the handovers meet a network at rest.
func (r *serviceRun) seedDoorstep(ctx context.Context, n, workers int) error {
	if err := r.w.seedDoorstep(ctx, r.s.Svc, n, workers); err != nil {
		return err
	}
	if err := readPasswords(ctx, r.s.Svc, r.s.Store, r.w, workers); err != nil {
		return err
	}
	_, err := drainOutbox(ctx, r.s.Store)
	return err
}

// doorstep measures couriers completing doorstep deliveries over the API
// with the passwords the recipients tell them.
func (r *serviceRun) doorstep(ctx context.Context, cfg Config, p *progress) (Stats, time.Duration, error) {
	m := startMeter(r.s.Writer)
	_, st, err := measure(ctx, cfg, p, indexes(len(r.w.doorstep)), func(ctx context.Context, _ int, i int) error {
		it := &r.w.doorstep[i]
		proof, err := r.courier.VerifyDoorstep(ctx, it.parcel, it.password, doorstepLat, doorstepLon)
		if err == nil && proof.VerifiedBy != string(parcelguard.HolderRecipient) {
			err = fmt.Errorf("handover of %s verified by %q, want the recipient", it.parcel, proof.VerifiedBy)
		}
		return err
	})
	if err != nil {
		return st, 0, err
	}
	drain, err := drainOutbox(ctx, r.s.Store)
	return m.stats(st), drain, err
}

// expire measures the scheduler expiring up to limit parcels.
func (r *serviceRun) expire(ctx context.Context, cfg Config, p *progress, limit int) (Stats, time.Duration, error) {
	items := append(r.rest, notIn(r.pick, r.picked)...)
	if len(items) > limit {
		items = items[:limit]
	}
	st, m, err := expireAll(ctx, r.s.Store, r.s.Writer, r.w, items, p, cfg.Duration)
	if err != nil {
		return st, 0, err
	}
	drain, err := drainOutbox(ctx, r.s.Store)
	return m.stats(st), drain, err
}

// clients makes the API keys of a courier and of each site's kiosk and
// returns their clients, all sharing one transport.
func clients(ctx context.Context, s *Service, w *world, workers int) (*client.Client, map[string]*client.Client, func(), error) {
	base, closeIdle, err := baseClient(s, workers)
	if err != nil {
		return nil, nil, nil, err
	}
	courier, err := keyed(ctx, s, base, service.NewAPIKeyInput{Role: parcelguard.RoleCourier, CarrierID: w.carrier.ID, Name: "bench courier"})
	if err != nil {
		return nil, nil, nil, err
	}
	kiosks := map[string]*client.Client{}
	for _, site := range w.sites {
		if kiosks[site.ID], err = keyed(ctx, s, base, service.NewAPIKeyInput{Role: parcelguard.RoleKiosk, SiteID: site.ID, Name: "bench kiosk"}); err != nil {
			return nil, nil, nil, err
		}
	}
	return courier, kiosks, closeIdle, nil
}

// baseClient is an API client without a key on a transport that keeps a
// connection per worker. Retries are off: every failure counts.
func baseClient(s *Service, workers int) (*client.Client, func(), error) {
	tr := nethttp.DefaultTransport.(*nethttp.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 2*workers, 2*workers
	hc := &nethttp.Client{Transport: tr, Timeout: time.Minute}
	base, err := client.New(s.URL, client.WithHTTPClient(hc), client.WithRetry(client.RetryPolicy{MaxAttempts: 1}),
		client.WithUserAgent("parcelguard-bench"))
	if err != nil {
		return nil, nil, err
	}
	return base, tr.CloseIdleConnections, nil
}

// keyed creates an API key through the use case and returns base with it.
func keyed(ctx context.Context, s *Service, base *client.Client, in service.NewAPIKeyInput) (*client.Client, error) {
	token, _, err := s.Svc.CreateAPIKey(ctx, parcelguard.System, in)
	if err != nil {
		return nil, fmt.Errorf("create %s key: %w", in.Role, err)
	}
	return base.WithToken(token), nil
}

// readPINs learns the PINs of the items as the recipients would, from the
// sealed copy the deposit notice is rendered from.
func readPINs(ctx context.Context, svc *service.Service, w *world, items []int, workers int) error {
	return forEach(ctx, len(items), workers, func(ctx context.Context, i int) (err error) {
		it := &w.items[items[i]]
		it.pin, _, err = svc.PickupCode(ctx, it.parcel)
		return err
	})
}

// expireAll makes the items' expiry timers due at one moment a little
// ahead, and measures how long the running scheduler takes to fire them
// all: from that moment until no timer is due and every item is expired.
func expireAll(ctx context.Context, store parcelguard.Store, writer func() sqlite.WriterStats, w *world, items []int, p *progress,
	limit time.Duration) (Stats, meter, error) {
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
			return Stats{}, meter{}, fmt.Errorf("reschedule expiry timers: %w", err)
		}
	}
	if wait := time.Until(at); wait > 0 {
		select {
		case <-ctx.Done():
			return Stats{}, meter{}, ctx.Err()
		case <-time.After(wait):
		}
	}
	m := startMeter(writer)
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
			return Stats{}, meter{}, err
		}
		if len(due) == 0 && next == len(items) {
			return throughput(len(items), now.Sub(at)), m, nil
		}
		select {
		case <-ctx.Done():
			return Stats{}, meter{}, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// drainOutbox waits until the outbox has no message due and returns how
// long that took. It asks for the backlog, which the dispatcher's index
// answers, rather than listing pending messages in id order: that list
// reads past every message already sent, and polled this often on
// PostgreSQL it took a core from the service it measures.
func drainOutbox(ctx context.Context, store parcelguard.Store) (time.Duration, error) {
	d, err := waitIdle(ctx, store, func(ctx context.Context, tx parcelguard.Tx) (bool, error) {
		b, err := tx.MessageBacklog(ctx, time.Now())
		return b.Due == 0, err
	})
	if err != nil {
		return 0, fmt.Errorf("outbox: %w", err)
	}
	return d, nil
}

// drainDeviceOutbox waits until the lockers' commands have all gone out.
func drainDeviceOutbox(ctx context.Context, store parcelguard.Store) error {
	_, err := waitIdle(ctx, store, func(ctx context.Context, tx parcelguard.Tx) (bool, error) {
		pending, err := tx.DeviceCommands(ctx, parcelguard.DeviceCommandFilter{State: parcelguard.DeviceCommandPending, Limit: 1})
		return len(pending) == 0, err
	})
	if err != nil {
		return fmt.Errorf("device outbox: %w", err)
	}
	return nil
}

// waitIdle polls idle until it holds and returns how long that took.
func waitIdle(ctx context.Context, store parcelguard.Store, idle func(context.Context, parcelguard.Tx) (bool, error)) (time.Duration, error) {
	start := time.Now()
	for {
		var done bool
		err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
			done, err = idle(ctx, tx)
			return err
		})
		if err != nil {
			return 0, err
		}
		if done {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}
