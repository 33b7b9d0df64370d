package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/agent"
	"github.com/parcelguard/parcelguard/door"
	"github.com/parcelguard/parcelguard/lockhw"
)

func runAgent(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "agent", "Runs the locker agent of one site: verifies PINs and QR codes offline, drives the\nlock board, watches the doors and syncs events and commands with the cloud over NATS.\nIt needs the provisioning file serve wrote for the site (DATA-DIR/lockers/<site>.json).")
	prov := fs.String("provisioning", "", "the site's provisioning file (required; mode 0600, it holds the locker's credentials)")
	dataDir := fs.String("data-dir", "parcelguard-agent", "directory for the agent's local store")
	natsURL := fs.String("nats-url", "", "NATS URL (default: the one in the provisioning file)")
	driver := fs.String("lock-driver", "sim", "lock hardware: sim (simulated board) or rs485")
	serial := fs.String("serial-port", "/dev/ttyUSB0", "serial port of the RS-485 adapter (with --lock-driver rs485)")
	heartbeat := fs.Duration("heartbeat", 30*time.Second, "how often the agent tells the cloud it is alive")
	openTooLong := fs.Duration("open-too-long", 2*time.Minute, "raise an alarm when a door stays open longer")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	logger, err := newLogger(e, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	if *prov == "" {
		return errors.New("--provisioning is required: the file serve wrote for this site")
	}
	if *heartbeat <= 0 || *openTooLong <= 0 {
		return errors.New("--heartbeat and --open-too-long must be positive")
	}
	p, err := agent.LoadProvisioning(*prov)
	if err != nil {
		return err
	}
	if *natsURL != "" {
		p.NATSURL = *natsURL
	}
	locks := 0
	for _, c := range p.Compartments {
		locks = max(locks, c.Lock)
	}
	clock := parcelguard.SystemClock{}
	var drv lockhw.Driver
	switch *driver {
	case "sim":
		sim := lockhw.NewSim(locks, clock)
		sim.SetAutoOpen(true)
		drv = sim
	case "rs485":
		port, err := lockhw.OpenSerial(*serial)
		if err != nil {
			return fmt.Errorf("--serial-port %s: %w", *serial, err)
		}
		if drv, err = lockhw.NewRS485(port, lockhw.RS485Config{Locks: locks}); err != nil {
			port.Close()
			return err
		}
	default:
		return fmt.Errorf("--lock-driver %q: want sim or rs485", *driver)
	}
	defer drv.Close()
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return fmt.Errorf("create agent data directory: %w", err)
	}
	a, err := agent.New(ctx, agent.Config{Provisioning: p, Path: filepath.Join(*dataDir, "agent.db"), Driver: drv, Clock: clock,
		Door: door.Config{OpenTooLong: *openTooLong}, Heartbeat: *heartbeat, Logger: logger})
	if err != nil {
		return err
	}
	defer a.Close()
	logger.Info("parcelguard agent running", "site", p.SiteID, "nats", p.NATSURL, "lock_driver", *driver, "locks", locks)
	fmt.Fprintf(e.stdout, "parcelguard agent for site %s running (%s lock driver)\n", p.SiteID, *driver)
	return a.Run(ctx)
}
