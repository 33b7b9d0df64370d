package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/parcelguard/parcelguard/http"
	"github.com/parcelguard/parcelguard/notify"
)

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "Runs the parcelguard API, the timer scheduler and the embedded store.\nWith no flags it keeps its data in ./parcelguard-data and listens on 127.0.0.1:8080.")
	cfg, err := parseAppFlags(e, fs, args, "127.0.0.1:8080")
	if err != nil {
		return err
	}
	a, err := startApp(ctx, cfg)
	if err != nil {
		return err
	}
	a.logger.Info("parcelguard serving", "addr", "http://"+a.addr, "db", redactURL(cfg.store.dbPath()), "version", version)
	fmt.Fprintf(e.stdout, "parcelguard listening on http://%s\n", a.addr)
	return a.serveUntilDone(ctx)
}

// parseAppFlags registers and parses the flags serve and demo share.
func parseAppFlags(e *env, fs *flag.FlagSet, args []string, defaultListen string) (appConfig, error) {
	var cfg appConfig
	var nf notifyFlags
	cfg.store.register(fs)
	nf.register(fs)
	cfg.outage.register(fs)
	cfg.devices.register(fs)
	fs.StringVar(&cfg.listen, "listen", defaultListen, "address for the HTTP API (host:port; port 0 picks a free one)")
	fs.StringVar(&cfg.publicURL, "public-url", "", "address people reach the pages at, for the tracking links in messages (default http://<listen address>)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	fs.DurationVar(&cfg.schedTick, "scheduler-interval", time.Second, "how often the scheduler looks for due timers")
	fs.Float64Var(&cfg.keyRate, "rate-limit-key", 0, "API requests per second per key or recipient link (0: the default of 50)")
	fs.Float64Var(&cfg.addrRate, "rate-limit-address", 0, "API requests per second per client address (0: the default of 100)")
	fs.Func("trusted-proxies", "comma-separated CIDR prefixes or addresses of the reverse proxies in front of the API; "+
		"from them the client address (rate limits, logs) is the right-most untrusted X-Forwarded-For entry (default: trust none)",
		func(s string) (err error) {
			cfg.trustedProxies, err = http.ParseTrustedProxies(s)
			return err
		})
	if err := parseFlags(e, fs, args); err != nil {
		return cfg, err
	}
	if cfg.schedTick <= 0 {
		return cfg, fmt.Errorf("--scheduler-interval %v: must be positive", cfg.schedTick)
	}
	if err := cfg.outage.check(); err != nil {
		return cfg, err
	}
	var err error
	if cfg.publicURL != "" {
		if cfg.publicURL, err = notify.PageBase(cfg.publicURL); err != nil {
			return cfg, fmt.Errorf("--public-url: %w", err)
		}
	}
	if cfg.notify, err = nf.config(e); err != nil {
		return cfg, err
	}
	cfg.notifyTick = nf.interval
	if err = cfg.devices.resolve(e); err != nil {
		return cfg, err
	}
	cfg.logger, err = newLogger(e, *logLevel, *logFormat)
	return cfg, err
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
