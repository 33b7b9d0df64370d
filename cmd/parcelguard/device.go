package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/agent"
	"github.com/parcelguard/parcelguard/devicemsg"
	pgnats "github.com/parcelguard/parcelguard/nats"
	"github.com/parcelguard/parcelguard/service"
)

// deviceFlags configure the device channel of serve: the embedded NATS
// server (default) or an external one.
type deviceFlags struct {
	url          string
	user         string
	passwordFile string
	password     string // resolved from the file or PARCELGUARD_NATS_PASSWORD
	mqtt         bool
	agentURL     string
	dispatch     time.Duration
}

func (f *deviceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "nats-url", "", "device channel: empty runs an embedded NATS server on a free loopback port; a nats:// URL uses an external server or cluster; \"off\" disables the channel")
	fs.StringVar(&f.user, "nats-user", pgnats.CloudUser, "user name of the service on an external NATS server")
	fs.StringVar(&f.passwordFile, "nats-password-file", "", "file holding the service's password on an external NATS server (or set PARCELGUARD_NATS_PASSWORD)")
	fs.BoolVar(&f.mqtt, "nats-mqtt", false, "also open the embedded server's MQTT 3.1.1 listener for lockers that speak only MQTT")
	fs.StringVar(&f.agentURL, "nats-agent-url", "", "NATS URL written into locker provisioning files (default: the server's own URL)")
	fs.DurationVar(&f.dispatch, "device-interval", service.DefaultDeviceInterval, "how often queued commands to lockers are sent")
}

// resolve reads the external server's password and checks the flags.
func (f *deviceFlags) resolve(e *env) error {
	if f.dispatch <= 0 {
		return fmt.Errorf("--device-interval %v: must be positive", f.dispatch)
	}
	if f.url == "" || f.url == "off" {
		return nil
	}
	if !strings.HasPrefix(f.url, "nats://") && !strings.HasPrefix(f.url, "tls://") {
		return fmt.Errorf("--nats-url %q: want empty, off, or a nats:// or tls:// URL", f.url)
	}
	f.password = e.getenv("PARCELGUARD_NATS_PASSWORD")
	if f.passwordFile != "" {
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return fmt.Errorf("--nats-password-file: %w", err)
		}
		f.password = strings.TrimSpace(string(b))
	}
	return nil
}

// deviceChannel is the running device channel of serve.
type deviceChannel struct {
	cloud *pgnats.Cloud
	emb   *pgnats.Embedded
	url   string
	stop  func()
	// syncNow provisions new sites' lockers at once instead of on the
	// next tick; syncMu keeps it and the tick from provisioning a site twice.
	syncNow func(ctx context.Context) error
	syncMu  sync.Mutex
	// mapsSwept is when SyncLockerCompartments last ran (under syncMu).
	mapsSwept time.Time
}

// startDevices starts (or connects to) the NATS server, provisions a locker
// for every site that has none, and runs the command dispatcher and the shared events
// consumer until stop. applied, if set, hears of each event applied.
func startDevices(ctx context.Context, f deviceFlags, dataDir string, svc *service.Service, store parcelguard.Store, log *slog.Logger,
	applied func(devicemsg.Event)) (*deviceChannel, error) {
	if f.url == "off" {
		return nil, nil
	}
	d := &deviceChannel{}
	var creds pgnats.Credentials
	if f.url == "" {
		lockers, err := svc.Lockers(ctx, parcelguard.System)
		if err != nil {
			return nil, err
		}
		var users []pgnats.User
		for _, l := range lockers {
			users = append(users, pgnats.User{Name: l.User, PasswordHash: l.PasswordHash, LockerID: l.SiteID})
		}
		if d.emb, err = pgnats.StartEmbedded(pgnats.EmbeddedOptions{DataDir: dataDir, MQTT: f.mqtt, Lockers: users}); err != nil {
			return nil, err
		}
		d.url, creds = d.emb.ClientURL(), d.emb.CloudCredentials()
	} else {
		d.url, creds = f.url, pgnats.Credentials{User: f.user, Password: f.password}
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	cloud, err := pgnats.Connect(cctx, d.url, creds, pgnats.CloudOptions{Logger: log})
	cancel()
	if err != nil {
		d.shutdown()
		return nil, err
	}
	d.cloud = cloud
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	d.stop = func() { stopRun(); wg.Wait(); d.shutdown() }
	d.syncNow = func(ctx context.Context) error { return d.sync(ctx, f, dataDir, svc, store, log) }
	if err := d.syncNow(ctx); err != nil {
		d.stop()
		return nil, err
	}
	wg.Go(func() { _ = svc.RunDeviceDispatcher(runCtx, cloud, f.dispatch) })
	apply := svc.ApplyDeviceEvent
	if applied != nil {
		apply = func(ctx context.Context, ev devicemsg.Event) error {
			err := svc.ApplyDeviceEvent(ctx, ev)
			if err == nil {
				applied(ev)
			}
			return err
		}
	}
	wg.Go(func() {
		if err := cloud.ConsumeEvents(runCtx, apply); err != nil {
			log.Error("device events consumer stopped", "err", err)
		}
	})
	wg.Go(func() {
		t := time.NewTicker(provisionInterval)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				if err := d.syncNow(runCtx); err != nil && runCtx.Err() == nil {
					log.Warn("locker provisioning", "err", err)
				}
			}
		}
	})
	log.Info("device channel up", "nats", d.url, "embedded", d.emb != nil, "mqtt", d.mqttAddr())
	return d, nil
}

func (d *deviceChannel) mqttAddr() string {
	if d.emb == nil {
		return ""
	}
	return d.emb.MQTTAddr()
}

func (d *deviceChannel) shutdown() {
	if d.cloud != nil {
		d.cloud.Close()
	}
	if d.emb != nil {
		d.emb.Shutdown()
	}
}

// sync makes sure every locker has its command consumer and provisions
// sites that have no locker yet: the provisioning file for the agent is
// written once into DATA-DIR/lockers/<site>.json (mode 0600) and holds the
// only copy of the locker's password. The embedded server learns the new
// user at once; for an external server the configuration is rendered for
// the operator to load.
func (d *deviceChannel) sync(ctx context.Context, f deviceFlags, dataDir string, svc *service.Service, store parcelguard.Store, log *slog.Logger) error {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	lockers, err := svc.Lockers(ctx, parcelguard.System)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, l := range lockers {
		have[l.SiteID] = true
		if err := d.cloud.EnsureLocker(ctx, l.SiteID); err != nil {
			return err
		}
	}
	var sites []*parcelguard.Site
	if err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
		sites, err = tx.Sites(ctx, parcelguard.SiteFilter{})
		return err
	}); err != nil {
		return err
	}
	var errs []error
	added := false
	for _, s := range sites {
		if have[s.ID] {
			continue
		}
		var comps []*parcelguard.Compartment
		if err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
			comps, err = tx.Compartments(ctx, s.ID)
			return err
		}); err != nil {
			return err
		}
		if len(comps) > 0 { // a locker without compartments has nothing to run yet
			err := d.provision(ctx, f, dataDir, svc, s.ID, log)
			added = added || err == nil
			errs = append(errs, err)
		}
	}
	// Compartments added to a provisioned site reach its locker as a new
	// compartment → lock map, queued with the compartment; the sweep for
	// a map that was not reads every compartment, so it runs seldom.
	if time.Since(d.mapsSwept) >= mapSweepInterval {
		if _, err := svc.SyncLockerCompartments(ctx); err != nil {
			errs = append(errs, err)
		} else {
			d.mapsSwept = time.Now()
		}
	}
	if added && d.emb == nil {
		errs = append(errs, d.writeExternalConfig(ctx, f, dataDir, svc, log))
	}
	return errors.Join(errs...)
}

func (d *deviceChannel) provision(ctx context.Context, f deviceFlags, dataDir string, svc *service.Service, siteID string, log *slog.Logger) error {
	creds, user, err := pgnats.LockerCredentials(siteID)
	if err != nil {
		return err
	}
	lp, err := svc.ProvisionLocker(ctx, parcelguard.System, siteID, user.Name, user.PasswordHash)
	if err != nil {
		return err
	}
	url := f.agentURL
	if url == "" {
		url = d.url
	}
	p := agent.Provisioning{SiteID: siteID, SiteName: lp.SiteName, NATSURL: url, NATSUser: creds.User, NATSPassword: creds.Password,
		CodeKeyID: lp.CodeKeyID, CodeKeys: lp.CodeKeys, PublicKeys: map[string][]byte{}}
	for id, k := range lp.PublicKeys {
		p.PublicKeys[id] = k
	}
	for _, c := range lp.Compartments {
		p.Compartments = append(p.Compartments, agent.Compartment{ID: c.ID, Label: c.Label, Lock: c.Lock})
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Join(dataDir, "lockers")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, siteID+".json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write provisioning of %s: %w", siteID, err)
	}
	if d.emb != nil {
		if err := d.emb.AddLocker(user); err != nil {
			return err
		}
	}
	if err := d.cloud.EnsureLocker(ctx, siteID); err != nil {
		return err
	}
	log.Info("locker provisioned", "site", siteID, "file", path)
	return nil
}

// close stops the channel; a nil channel (disabled) is fine.
func (d *deviceChannel) close() {
	if d != nil && d.stop != nil {
		d.stop()
	}
}

// provisionInterval is how soon a new site gets its locker provisioned.
const provisionInterval = 2 * time.Second

// mapSweepInterval is how often the device channel sweeps for compartment
// maps that did not reach their locker with their compartment.
const mapSweepInterval = 10 * time.Minute

// writeExternalConfig renders the accounts block an external nats-server
// needs for the cloud user and every provisioned locker (the users and
// permissions the embedded server runs) into DATA-DIR/nats/accounts.conf,
// mode 0600. serve does not manage an external server: its configuration
// includes the file ("include accounts.conf") and the operator reloads it
// (SIGHUP) before the new lockers connect.
func (d *deviceChannel) writeExternalConfig(ctx context.Context, f deviceFlags, dataDir string, svc *service.Service, log *slog.Logger) error {
	lockers, err := svc.Lockers(ctx, parcelguard.System)
	if err != nil {
		return err
	}
	cloud, err := pgnats.CloudUserFor(f.password)
	if err != nil {
		return err
	}
	users := []pgnats.User{cloud}
	for _, l := range lockers {
		users = append(users, pgnats.User{Name: l.User, PasswordHash: l.PasswordHash, LockerID: l.SiteID})
	}
	b, err := pgnats.ServerConfig{Users: users}.RenderAccounts()
	if err != nil {
		return err
	}
	dir := filepath.Join(dataDir, "nats")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, "accounts.conf")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write external nats config: %w", err)
	}
	log.Warn("new lockers provisioned: load the rendered configuration into the external NATS server", "file", path, "lockers", len(lockers))
	return nil
}
