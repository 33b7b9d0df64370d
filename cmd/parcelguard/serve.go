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
	"github.com/parcelguard/parcelguard/http"
	"github.com/parcelguard/parcelguard/metrics"
	"github.com/parcelguard/parcelguard/service"
)

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "Runs the parcelguard API, the timer scheduler and the embedded store.\nWith no flags it keeps its data in ./parcelguard-data and listens on 127.0.0.1:8080.")
	var sf storeFlags
	sf.register(fs)
	listen := fs.String("listen", "127.0.0.1:8080", "address for the HTTP API (host:port; port 0 picks a free one)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	tick := fs.Duration("scheduler-interval", time.Second, "how often the scheduler looks for due timers")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	logger, err := newLogger(e, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	if *tick <= 0 {
		return fmt.Errorf("--scheduler-interval %v: must be positive", *tick)
	}

	keys, err := sf.loadKeys()
	if err != nil {
		return err
	}
	db, err := sf.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	store := metrics.InstrumentStore(db, m)
	svc := service.New(service.Config{Store: store, Clock: parcelguard.SystemClock{}, Keys: keys, Metrics: m, Logger: logger})
	api := http.NewServer(http.Config{Service: svc, Store: store, Metrics: m, Gatherer: reg, Logger: logger, Version: version})

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	srv := &nethttp.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	schedDone := make(chan error, 1)
	go func() { schedDone <- svc.RunScheduler(ctx, *tick) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()
	logger.Info("parcelguard serving", "addr", "http://"+ln.Addr().String(), "db", sf.dbPath(), "version", version)
	fmt.Fprintf(e.stdout, "parcelguard listening on http://%s\n", ln.Addr())

	select {
	case <-ctx.Done():
	case err = <-serveDone:
		cancel()
	}
	shutdownCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && !errors.Is(serr, nethttp.ErrServerClosed) {
		logger.Warn("shutdown", "err", serr)
	}
	<-schedDone
	if errors.Is(err, nethttp.ErrServerClosed) {
		err = nil
	}
	logger.Info("parcelguard stopped")
	return err
}

func newLogger(e *env, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
