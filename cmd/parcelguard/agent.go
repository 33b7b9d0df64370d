package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/agent"
	"github.com/parcelguard/parcelguard/camera"
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
	kioskListen := fs.String("kiosk-listen", agent.DefaultKioskListen, "address of the touchscreen's kiosk pages (keep it on loopback); \"off\" serves none")
	var cam cameraFlags
	cam.register(fs)
	cameraName := fs.String("camera-name", "locker", "the site camera's name in the video system (Frigate's camera name)")
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
	clock := parcelguard.SystemClock{}
	bookmarks, err := cam.bookmarker(e, clock)
	if err != nil {
		return err
	}
	var agentCamera agent.Camera
	if bookmarks != nil {
		agentCamera = bookmarks
	}
	var kioskLn net.Listener
	if *kioskListen != "off" {
		if kioskLn, err = net.Listen("tcp", *kioskListen); err != nil {
			return fmt.Errorf("--kiosk-listen %s: %w", *kioskListen, err)
		}
		defer kioskLn.Close()
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
		Door: door.Config{OpenTooLong: *openTooLong}, Heartbeat: *heartbeat, Logger: logger,
		Camera: agentCamera, CameraID: *cameraName, CameraTimeout: cam.budget()})
	if err != nil {
		return err
	}
	defer a.Close()
	logger.Info("parcelguard agent running", "site", p.SiteID, "nats", p.NATSURL, "lock_driver", *driver, "locks", locks,
		"camera", bookmarks != nil)
	fmt.Fprintf(e.stdout, "parcelguard agent for site %s running (%s lock driver)\n", p.SiteID, *driver)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	if kioskLn != nil {
		fmt.Fprintf(e.stdout, "kiosk on http://%s/\n", kioskLn.Addr())
		wg.Go(func() {
			if err := a.ServeKiosk(ctx, kioskLn, p.SiteName); err != nil {
				logger.Error("kiosk stopped", "err", err)
			}
		})
	}
	return a.Run(ctx)
}

// budget bounds one bookmark with every retry of the configured hook: the
// agent waits no longer for the camera before storing an event unrecorded.
func (f *cameraFlags) budget() time.Duration {
	if f.spec == "" {
		return 0
	}
	return time.Duration(f.attempts)*f.timeout + camera.DefaultBackoff<<max(f.attempts-1, 0)
}
