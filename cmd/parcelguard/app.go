package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	nethttp "net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/devicemsg"
	"github.com/parcelguard/parcelguard/http"
	"github.com/parcelguard/parcelguard/metrics"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/postgres"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
	"github.com/parcelguard/parcelguard/web"
)

// appConfig is what serve and demo need to start the service.
type appConfig struct {
	store  storeFlags
	listen string
	// publicURL is where people reach the pages (message links); empty
	// means http://<the listen address>.
	publicURL string
	logger    *slog.Logger
	schedTick time.Duration
	// keyRate and addrRate are requests per second (burst twice that) per
	// API key and per client address; zero keeps the API's defaults.
	keyRate, addrRate float64
	// trustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (--trusted-proxies).
	trustedProxies http.TrustedProxies
	notify         notify.Config
	notifyTick     time.Duration
	// outage tunes the outage sweep (outageflags.go).
	outage  outageFlags
	devices deviceFlags
	// deviceApplied, if set, hears of every device event the service has
	// applied (the bench's locker pickups wait for theirs).
	deviceApplied func(devicemsg.Event)
}

// app is a running service: store, use cases, scheduler and HTTP server.
type app struct {
	svc   *service.Service
	keys  *code.Keyring
	store parcelguard.Store
	// db is the store under store's instrumentation, for what only its
	// engine reports (the SQLite writer's load).
	db   parcelguard.Store
	addr string
	// publicURL is the pages' address in messages and the demo's links.
	publicURL string
	logger    *slog.Logger
	stop      func() error
	// devices is the device channel (nil when --nats-url off).
	devices *deviceChannel
}

// startApp opens the store, starts the scheduler and serves the API until
// stop is called.
func startApp(ctx context.Context, cfg appConfig) (*app, error) {
	keys, err := cfg.store.loadKeys()
	if err != nil {
		return nil, err
	}
	db, err := cfg.store.openStore(ctx)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	if w, ok := db.(*sqlite.DB); ok {
		metrics.RegisterSQLiteWriter(reg, w.WriterStats)
	}
	if pg, ok := db.(*postgres.DB); ok {
		warnServerSettings(ctx, pg, cfg.logger)
	}
	store := metrics.InstrumentStore(db, m)
	clock := parcelguard.SystemClock{}
	metrics.RegisterOutbox(reg, db, clock)
	svc := service.New(service.Config{Store: store, Clock: clock, Keys: keys, Metrics: m, Logger: cfg.logger,
		TimerChunk: timerChunk(db)})
	// Messages link to the tracking page; its address is known once the
	// listener is (port 0), before the dispatcher starts.
	links := &notify.Linked{Codes: svc, PublicURL: cfg.publicURL}
	dispatcher, err := notify.New(cfg.notify, notify.Options{Store: store, Clock: clock, Keys: keys, Codes: links, Logger: cfg.logger})
	if err != nil {
		db.Close()
		return nil, err
	}
	api := http.NewServer(http.Config{Service: svc, Store: store, Metrics: m, Gatherer: reg, Logger: cfg.logger, Version: version,
		KeyLimit: rateLimit(cfg.keyRate), AddressLimit: rateLimit(cfg.addrRate), TrustedProxies: cfg.trustedProxies,
		Mailbox: dispatcher.Mailbox()})

	handler, err := withPages(api, web.Config{Service: svc, Keys: keys, Clock: clock, Logger: cfg.logger,
		Mailbox: dispatcher.Mailbox(), ClientAddress: cfg.trustedProxies.ClientAddress})
	if err != nil {
		db.Close()
		return nil, err
	}

	// Device channel (NATS): see device.go.
	devices, err := startDevices(ctx, cfg.devices, cfg.store.dataDir, svc, store, cfg.logger, cfg.deviceApplied)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("device channel: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		devices.close()
		db.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	if links.PublicURL == "" {
		links.PublicURL = "http://" + ln.Addr().String()
	}
	srv := &nethttp.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(cfg.logger.Handler(), slog.LevelWarn)}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	schedDone := make(chan error, 1)
	go func() { schedDone <- svc.RunScheduler(runCtx, cfg.schedTick) }()
	// Outage sweep: holds the deadlines of parcels in down lockers.
	outageDone := make(chan error, 1)
	go func() { outageDone <- cfg.outage.run(runCtx, svc) }()
	go purgeIdempotencyKeys(runCtx, svc, cfg.logger)
	notifyDone := make(chan error, 1)
	go func() { notifyDone <- dispatcher.Run(runCtx, cfg.notifyTick) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()

	a := &app{svc: svc, keys: keys, store: store, db: db, addr: ln.Addr().String(), publicURL: links.PublicURL, logger: cfg.logger, devices: devices}
	a.stop = func() error {
		shutdownCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		err := srv.Shutdown(shutdownCtx)
		svc.WaitAnswers() // the last requests' idempotent answers
		cancel()
		<-schedDone
		<-outageDone
		<-notifyDone
		devices.close()
		if serr := <-serveDone; !errors.Is(serr, nethttp.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return errors.Join(err, db.Close())
	}
	return a, nil
}

// serveUntilDone blocks until ctx ends, then stops the app.
func (a *app) serveUntilDone(ctx context.Context) error {
	<-ctx.Done()
	err := a.stop()
	a.logger.Info("parcelguard stopped")
	return err
}

// rateLimit turns a per-second rate into a bucket with a burst of two
// seconds' worth; zero keeps the API's default.
func rateLimit(perSecond float64) http.RateLimit {
	if perSecond <= 0 {
		return http.RateLimit{}
	}
	return http.RateLimit{Rate: rate.Limit(perSecond), Burst: max(1, int(2*perSecond))}
}

// idempotencyPurgeInterval bounds how long expired idempotency records
// linger; they are ignored once expired, so this only bounds the table.
const idempotencyPurgeInterval = 10 * time.Minute

func purgeIdempotencyKeys(ctx context.Context, svc *service.Service, logger *slog.Logger) {
	t := time.NewTicker(idempotencyPurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := svc.PurgeIdempotencyKeys(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("purge idempotency keys", "err", err, "purged", n)
			}
			// Web sessions past their absolute lifetime (they are already
			// refused; this only bounds the table).
			if n, err := svc.PurgeSessions(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("purge web sessions", "err", err, "purged", n)
			}
		}
	}
}

// withPages serves the web pages (recipient, courier, console) beside the
// API: the pages claim their own paths, everything else goes to the API.
func withPages(api nethttp.Handler, cfg web.Config) (nethttp.Handler, error) {
	pages, err := web.New(cfg)
	if err != nil {
		return nil, err
	}
	mux := nethttp.NewServeMux()
	mux.Handle("/", api)
	pages.Register(mux)
	return mux, nil
}

// timerChunk is how many timers fire in one transaction on db: SQLite's one
// writer gains from fewer, larger transactions; PostgreSQL's concurrent
// ones would hold several sites' audit stream heads at once.
func timerChunk(db parcelguard.Store) int {
	if _, ok := db.(*sqlite.DB); ok {
		return 16
	}
	return 1
}

// warnServerSettings logs each PostgreSQL setting that weakens what the
// store promises (see postgres.DB.ServerWarnings); the service runs on.
func warnServerSettings(ctx context.Context, db *postgres.DB, log *slog.Logger) {
	warnings, err := db.ServerWarnings(ctx)
	if err != nil {
		log.Warn("could not check the database server's settings", "err", err)
		return
	}
	for _, w := range warnings {
		log.Warn("database server setting", "problem", w)
	}
}
