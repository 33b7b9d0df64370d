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

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/http"
	"github.com/parcelguard/parcelguard/metrics"
	"github.com/parcelguard/parcelguard/service"
)

// appConfig is what serve and demo need to start the service.
type appConfig struct {
	store     storeFlags
	listen    string
	logger    *slog.Logger
	schedTick time.Duration
}

// app is a running service: store, use cases, scheduler and HTTP server.
type app struct {
	svc    *service.Service
	keys   *code.Keyring
	store  parcelguard.Store
	addr   string
	logger *slog.Logger
	stop   func() error
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
	store := metrics.InstrumentStore(db, m)
	svc := service.New(service.Config{Store: store, Clock: parcelguard.SystemClock{}, Keys: keys, Metrics: m, Logger: cfg.logger})
	api := http.NewServer(http.Config{Service: svc, Store: store, Metrics: m, Gatherer: reg, Logger: cfg.logger, Version: version})

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	srv := &nethttp.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(cfg.logger.Handler(), slog.LevelWarn)}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	schedDone := make(chan error, 1)
	go func() { schedDone <- svc.RunScheduler(runCtx, cfg.schedTick) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()

	a := &app{svc: svc, keys: keys, store: store, addr: ln.Addr().String(), logger: cfg.logger}
	a.stop = func() error {
		shutdownCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		err := srv.Shutdown(shutdownCtx)
		cancel()
		<-schedDone
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
