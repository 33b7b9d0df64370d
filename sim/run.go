package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/metrics"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/service"
)

// Run simulates the network of cfg against opts.Store and returns the
// summary. The error reports a run that could not be carried out; broken
// invariants are in the summary (Summary.Err), so the report can show them.
func Run(ctx context.Context, cfg Config, opts Options) (*Summary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Store == nil {
		return nil, errors.New("sim: a store is required")
	}
	wallStart := time.Now()
	keys := opts.Keys
	if keys == nil {
		var err error
		if keys, err = code.GenerateKeyring(); err != nil {
			return nil, fmt.Errorf("sim: keyring: %w", err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	w := &World{cfg: cfg, opts: opts, store: opts.Store, clock: parcelguard.NewManualClock(cfg.Start),
		mets: metrics.New(reg), rng: rand.New(rand.NewPCG(cfg.Seed, 0x5a5a)), queue: map[int64][]Action{},
		start: cfg.Start}
	w.tick.Store(-1)
	parcels, freeParcels := offHeap[parcelRec](cfg.Parcels)
	defer freeParcels() // after the summary, which copies what it needs
	w.parcels = parcels
	w.checks = &checker{w: w}
	w.stats = newStats(cfg.Start, cfg.Duration())
	w.svc = service.New(service.Config{Store: w.store, Clock: w.clock, Keys: keys, Metrics: w.mets})
	snd := &sender{w: w}
	disp, err := notify.New(notify.Config{Dispatch: notify.DispatchConfig{Batch: 256, Workers: 32}},
		notify.Options{Store: w.store, Clock: w.clock, Keys: keys, Codes: w.svc,
			Senders: map[parcelguard.Channel]notify.Sender{parcelguard.ChannelEmail: snd, parcelguard.ChannelSMS: snd, parcelguard.ChannelWebhook: snd}})
	if err != nil {
		return nil, fmt.Errorf("sim: dispatcher: %w", err)
	}
	w.disp = disp

	if err := w.seed(ctx); err != nil {
		return nil, fmt.Errorf("sim: seed the network: %w", err)
	}
	seedWall := time.Since(wallStart)
	w.startAttackers()
	for _, a := range opts.Actors {
		w.actors = append(w.actors, a)
		if err := a.Start(ctx, w); err != nil {
			return nil, fmt.Errorf("sim: start %s: %w", a.Name(), err)
		}
	}
	runStart := time.Now()
	if err := w.loop(ctx); err != nil {
		return nil, err
	}
	runWall := time.Since(runStart)
	finalStart := time.Now()
	audit, err := w.final(ctx)
	if err != nil {
		return nil, err
	}
	// The final checks' calls count in the last simulated hour; so does
	// their wall time, or that hour would show all of them in no time.
	w.stats.wallPerHr[w.stats.hourOf(w.Now())] += time.Since(finalStart).Seconds()
	return w.summary(ctx, seedWall, runWall, time.Since(wallStart), audit), nil
}

// seed creates the carrier and the sites with their compartments through
// the service, concurrently (the store commits them in groups).
func (w *World) seed(ctx context.Context) error {
	admin := parcelguard.Principal{Role: parcelguard.RoleAdmin, KeyPrefix: "pgk_sim"}
	w.operator = parcelguard.Principal{Role: parcelguard.RoleOperator, KeyPrefix: "pgk_simop"}
	c, err := w.svc.CreateCarrier(ctx, admin, parcelguard.Carrier{Name: "Sim Parcel", PhoneFactor: true})
	if err != nil {
		return err
	}
	w.carrierP = parcelguard.Principal{Role: parcelguard.RoleCarrier, KeyPrefix: "pgk_simcar", CarrierID: c.ID}
	w.courier = parcelguard.Principal{Role: parcelguard.RoleCourier, KeyPrefix: "pgk_simcou", CarrierID: c.ID}

	r := w.rng
	w.sites = make([]*siteRec, w.cfg.Sites)
	for i := range w.sites {
		n := max(1, int(float64(w.cfg.CompartmentsPerSite)*(0.5+r.Float64())+0.5))
		s := &siteRec{idx: i, compartments: n, roundAt: -1,
			offset: time.Duration(r.Int64N(int64(w.cfg.RoundEvery/w.cfg.Tick))) * w.cfg.Tick}
		s.bySize = splitMix(w.cfg.CompartmentMix, n)
		w.sites[i] = s
		w.totalComp += n
	}
	w.siteCum = make([]float64, len(w.sites))
	acc := 0.0
	for i, s := range w.sites {
		acc += float64(s.compartments) / float64(w.totalComp)
		w.siteCum[i] = acc
	}
	w.siteCum[len(w.siteCum)-1] = 1

	var (
		errMu sync.Mutex
		errs  []error
	)
	jobs := make(chan *siteRec)
	var wg sync.WaitGroup
	for range w.cfg.Workers {
		wg.Go(func() {
			for s := range jobs {
				if err := w.seedSite(ctx, admin, s); err != nil {
					errMu.Lock()
					errs = append(errs, err)
					errMu.Unlock()
				}
			}
		})
	}
	for _, s := range w.sites {
		jobs <- s
	}
	close(jobs)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return nil
}

func (w *World) seedSite(ctx context.Context, admin parcelguard.Principal, s *siteRec) error {
	lat, lon := siteLatLon(s.idx)
	site, err := w.svc.CreateSite(ctx, admin, parcelguard.Site{Name: fmt.Sprintf("Locker %05d", s.idx),
		Address: fmt.Sprintf("Simulated Street %d", s.idx), Lat: lat, Lon: lon, TimeZone: "Europe/Warsaw", OpeningHours: "24/7"})
	if err != nil {
		return err
	}
	s.id = site.ID
	s.kiosk = parcelguard.Principal{Role: parcelguard.RoleKiosk, KeyPrefix: "pgk_kiosk", SiteID: site.ID}
	n := 0
	for size, count := range s.bySize {
		for range count {
			label := fmt.Sprintf("%c%02d", 'A'+n/50, n%50)
			n++
			if _, err := w.svc.AddCompartment(ctx, admin, parcelguard.Compartment{SiteID: site.ID, Label: label,
				Size: parcelguard.SizeClasses[size]}); err != nil {
				return err
			}
		}
	}
	return nil
}

// siteLatLon places site i on a grid of about 900 m × 8.7 km cells.
func siteLatLon(i int) (lat, lon float64) {
	return 49.0 + float64(i%500)*0.008, min(14.2+float64(i/500)*0.12, 180)
}

// splitMix divides n into the shares of mix, rounding so the parts sum to n.
func splitMix(mix [4]float64, n int) [4]int {
	tot := mix[0] + mix[1] + mix[2] + mix[3]
	var out [4]int
	acc, given := 0.0, 0
	for i, m := range mix {
		acc += m / tot
		upto := int(acc*float64(n) + 0.5)
		if i == len(mix)-1 {
			upto = n
		}
		out[i] = upto - given
		given = upto
	}
	return out
}

// pickMix returns the index whose share of mix u falls in.
func pickMix(mix [4]float64, u float64) int {
	tot := mix[0] + mix[1] + mix[2] + mix[3]
	acc := 0.0
	for i, m := range mix {
		acc += m / tot
		if u < acc {
			return i
		}
	}
	return len(mix) - 1
}

// maxSkip bounds how far the clock jumps over idle ticks, so the hourly
// samples and the outbox still see every hour.
const maxSkip = time.Hour

// loop runs the ticks: arrivals, the tick's actions, the scheduler, the
// outbox, and the invariant sweep.
func (w *World) loop(ctx context.Context) error {
	cfg := w.cfg
	end := w.start.Add(cfg.Duration())
	arrivalEnd := time.Duration(cfg.ArrivalDays) * 24 * time.Hour
	lastHour := -1
	hourWall := time.Now()
	for i := int64(0); w.timeOf(i).Before(end); {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := w.timeOf(i)
		w.clock.Set(now)
		w.tick.Store(i)
		if h := w.stats.hourOf(now); h != lastHour {
			if lastHour >= 0 {
				w.sampleHour(lastHour, time.Since(hourWall))
				hourWall = time.Now()
			}
			lastHour = h
		}
		off := now.Sub(w.start)
		var actions []Action
		for range cfg.Curve.Count(cfg.Parcels, cfg.ArrivalDays, off, off+cfg.Tick) {
			actions = append(actions, w.arrive(now))
		}
		actions = append(actions, w.take(i)...)
		w.runActions(ctx, actions)
		fired, err := w.fireTimers(ctx)
		if err != nil {
			return err
		}
		sent, err := w.dispatch(ctx)
		if err != nil {
			return err
		}
		w.betweenTicks(ctx)
		w.checks.sweep(ctx, cfg.SweepPerTick())
		if w.opts.AfterTick != nil {
			if err := w.opts.AfterTick(ctx, w); err != nil {
				return fmt.Errorf("sim: after tick: %w", err)
			}
		}
		w.stats.ticks++
		next := i + 1
		if fired == 0 && sent == 0 {
			next = w.skipTo(ctx, i, arrivalEnd)
		}
		i = next
	}
	w.sampleHour(lastHour, time.Since(hourWall))
	return nil
}

// skipTo returns the next tick with anything to do after the idle tick i:
// an arrival, a queued action or a due timer, at most maxSkip ahead.
func (w *World) skipTo(ctx context.Context, i int64, arrivalEnd time.Duration) int64 {
	limit := int64(maxSkip / w.cfg.Tick)
	next := i + limit
	if q := w.nextQueued(i, limit); q >= 0 {
		next = q
	}
	for j := i + 1; j < next && w.timeOf(j).Sub(w.start) < arrivalEnd; j++ {
		off := w.timeOf(j).Sub(w.start)
		if w.cfg.Curve.Count(w.cfg.Parcels, w.cfg.ArrivalDays, off, off+w.cfg.Tick) > 0 {
			next = j
			break
		}
	}
	var due time.Time
	err := w.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		due, err = tx.NextTimer(ctx)
		return err
	})
	if err == nil && !due.IsZero() {
		t := w.tickOf(due)
		if !w.timeOf(t).Equal(due) {
			t++
		}
		next = min(next, max(t, i+1))
	}
	// Stop at every hour boundary so each hour is sampled.
	if hb := w.tickOf(w.timeOf(i).Truncate(time.Hour).Add(time.Hour)); hb > i {
		next = min(next, hb)
	}
	w.stats.ticksSkip += int(next - i - 1)
	return next
}

func (w *World) fireTimers(ctx context.Context) (int, error) {
	var n int
	err := w.timed("fire_due_timers", func() (err error) {
		n, err = w.svc.FireDueTimers(ctx)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("sim: scheduler: %w", err)
	}
	return n, nil
}

func (w *World) dispatch(ctx context.Context) (int, error) {
	var n int
	err := w.timed("dispatch_outbox", func() (err error) {
		n, err = w.disp.DispatchDue(ctx)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("sim: outbox: %w", err)
	}
	return n, nil
}

// sampleHour records the occupancy and alarms at the end of hour h.
func (w *World) sampleHour(h int, wall time.Duration) {
	if h < 0 || h >= w.stats.hours {
		return
	}
	w.mu.Lock()
	used, att, attComp := 0, 0, 0
	for _, s := range w.sites {
		used += s.reserved + s.occupied
		if s.attacked {
			att += s.reserved + s.occupied
			attComp += s.compartments
		}
	}
	w.mu.Unlock()
	occ := float64(used) / float64(w.totalComp)
	w.stats.occupancy[h] = occ
	if attComp > 0 {
		w.stats.attackOcc[h] = float64(att) / float64(attComp)
	}
	w.stats.peakOcc = max(w.stats.peakOcc, occ)
	w.stats.sumOcc += occ
	w.stats.nOcc++
	w.stats.alarmsCum[h] = counterValue(w.mets.GuardAlarms)
	w.stats.wallPerHr[h] += wall.Seconds()
	if w.opts.Progress != nil {
		// The hour's wall time tells how long a large run has to go.
		fmt.Fprintf(w.opts.Progress, "sim %s  hour %3d  arrived %d  deposited %d  picked up %d  expired %d  occupancy %.0f%%  violations %d  took %s\n",
			w.timeOf(w.tick.Load()).Format("Mon 15:04"), h+1, w.stats.total(sArrived), w.stats.total(sDeposited),
			w.stats.total(sPickedUp), w.stats.total(sExpired), 100*occ, w.checks.n.Load(), wall.Round(time.Millisecond))
	}
}
