package agent_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/agent"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/devicemsg"
	"github.com/parcelguard/parcelguard/lockhw"
	pgnats "github.com/parcelguard/parcelguard/nats"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// server is a NATS server the test can stop and start again on the same
// port and store, as a network partition followed by recovery.
type server interface {
	URL() string
	Stop()
	Start(t *testing.T)
}

// embedded is the in-process server.
type embedded struct {
	opts pgnats.EmbeddedOptions
	e    *pgnats.Embedded
	url  string
}

func (s *embedded) URL() string { return s.url }
func (s *embedded) Stop() {
	if s.e != nil {
		s.e.Shutdown()
		s.e = nil
	}
}
func (s *embedded) Start(t *testing.T) {
	t.Helper()
	e, err := pgnats.StartEmbedded(s.opts)
	if err != nil {
		t.Fatal(err)
	}
	s.e, s.url = e, e.ClientURL()
	s.opts.Port = portOf(t, s.url)
}

// external is a real nats-server process from the same rendered config.
type external struct {
	bin, conf, dir string
	port           int
	cmd            *exec.Cmd
}

func (s *external) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }
func (s *external) Stop() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}
func (s *external) Start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "-c", s.conf, "-js", "-sd", filepath.Join(s.dir, "js"))
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server did not listen on %s", addr)
		}
	}
}

func portOf(t *testing.T, url string) int {
	_, p, err := net.SplitHostPort(url[len("nats://"):])
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func natsServerBin(t *testing.T) string {
	if bin, err := exec.LookPath("nats-server"); err == nil {
		return bin
	}
	if _, err := os.Stat("/usr/sbin/nats-server"); err == nil {
		return "/usr/sbin/nats-server"
	}
	t.Fatal("nats-server binary not found: run scripts/install-test-deps.sh (Debian package nats-server)")
	return ""
}

// world is a cloud (service on SQLite, device channel, dispatcher and
// event consumer) and one locker agent on simulated hardware, sharing one
// manual clock.
type world struct {
	t          *testing.T
	ctx        context.Context
	clock      *parcelguard.ManualClock
	keys       *code.Keyring
	cloudCreds pgnats.Credentials
	dir        string
	svc        *service.Service
	db         *sqlite.DB
	site       *parcelguard.Site
	courier    parcelguard.Principal
	carrier    parcelguard.Principal
	srv        server
	cloud      *pgnats.Cloud
	agent      *agent.Agent
	sim        *lockhw.Sim
	prov       *agent.Provisioning
	applied    atomic.Int64 // deliveries of events to ApplyDeviceEvent
	stopAg     func()
}

var admin = parcelguard.Principal{Role: parcelguard.RoleAdmin, KeyPrefix: "pgk_test"}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func newWorld(t *testing.T, externalServer bool) *world {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	keys, err := code.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "cloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := &world{t: t, ctx: ctx, db: db, keys: keys, dir: dir, clock: parcelguard.NewManualClock(time.Now().UTC().Truncate(time.Second))}
	w.svc = service.New(service.Config{Store: db, Clock: w.clock, Keys: keys, Logger: quiet})
	w.site = must[*parcelguard.Site](t)(w.svc.CreateSite(ctx, admin, parcelguard.Site{Name: "Station", Address: "Platz 1", Lat: 48, Lon: 11}))
	for _, l := range []string{"A1", "A2", "A3"} {
		must[*parcelguard.Compartment](t)(w.svc.AddCompartment(ctx, admin, parcelguard.Compartment{SiteID: w.site.ID, Label: l, Size: parcelguard.SizeS}))
	}
	car := must[*parcelguard.Carrier](t)(w.svc.CreateCarrier(ctx, admin, parcelguard.Carrier{Name: "Fast", PhoneFactor: true}))
	w.courier = parcelguard.Principal{Role: parcelguard.RoleCourier, KeyPrefix: "pgk_c", CarrierID: car.ID}
	w.carrier = parcelguard.Principal{Role: parcelguard.RoleCarrier, KeyPrefix: "pgk_k", CarrierID: car.ID}

	// Provision the locker: credentials made by the channel, hash kept by
	// the cloud, the rest handed to the agent.
	creds, user, err := pgnats.LockerCredentials(w.site.ID)
	if err != nil {
		t.Fatal(err)
	}
	lp := must[*service.LockerProvision](t)(w.svc.ProvisionLocker(ctx, admin, w.site.ID, user.Name, user.PasswordHash))
	cloudCreds, cloudUser, err := pgnats.CloudCredentials()
	if err != nil {
		t.Fatal(err)
	}
	if externalServer {
		port := freePort(t)
		cfg := pgnats.ServerConfig{Name: "pg-agent-test", Host: "127.0.0.1", Port: port, Users: []pgnats.User{cloudUser, user}}
		b, err := cfg.Render()
		if err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, "nats.conf")
		if err := os.WriteFile(conf, b, 0o600); err != nil {
			t.Fatal(err)
		}
		w.srv = &external{bin: natsServerBin(t), conf: conf, dir: dir, port: port}
	} else {
		w.srv = &embedded{opts: pgnats.EmbeddedOptions{DataDir: dir, Cloud: cloudUser, Lockers: []pgnats.User{user}}}
	}
	w.srv.Start(t)
	t.Cleanup(w.srv.Stop)
	w.cloudCreds = cloudCreds
	w.cloud, err = pgnats.Connect(ctx, w.srv.URL(), cloudCreds, pgnats.CloudOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.cloud.Close)
	if err := w.cloud.EnsureLocker(ctx, w.site.ID); err != nil {
		t.Fatal(err)
	}
	bg(t, func(ctx context.Context) error { return w.svc.RunDeviceDispatcher(ctx, w.cloud, 20*time.Millisecond) })
	bg(t, func(ctx context.Context) error { return w.cloud.ConsumeEvents(ctx, w.countApply) })

	w.prov = &agent.Provisioning{SiteID: w.site.ID, NATSURL: w.srv.URL(), NATSUser: creds.User, NATSPassword: creds.Password,
		CodeKeyID: lp.CodeKeyID, CodeKeys: lp.CodeKeys, PublicKeys: map[string][]byte{}}
	for id, k := range lp.PublicKeys {
		w.prov.PublicKeys[id] = k
	}
	for _, c := range lp.Compartments {
		w.prov.Compartments = append(w.prov.Compartments, agent.Compartment{ID: c.ID, Label: c.Label, Lock: c.Lock})
	}
	w.sim = lockhw.NewSim(len(lp.Compartments)+2, w.clock) // spare locks for compartments added later
	w.sim.SetAutoOpen(true)
	w.agent, err = agent.New(ctx, agent.Config{Provisioning: w.prov, Path: filepath.Join(dir, "agent.db"), Driver: w.sim,
		Clock: w.clock, Logger: quiet, Heartbeat: 100 * time.Millisecond, Poll: 20 * time.Millisecond, Flush: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.agent.Close() })
	w.stopAg = bg(t, w.agent.Run)
	return w
}

// bg runs fn until the test ends (or the returned stop is called).
func bg(t *testing.T, fn func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(ctx); err != nil {
			t.Errorf("background: %v", err)
		}
	}()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

// deposit announces, reserves and deposits a parcel; it returns the parcel,
// its PIN and its pickup grant.
func (w *world) deposit(tracking string) (*parcelguard.Parcel, string, *parcelguard.Grant) {
	w.t.Helper()
	t := w.t
	x := must[*parcelguard.Parcel](t)(w.svc.Announce(w.ctx, w.carrier, parcelguard.Parcel{TrackingNumber: tracking, Size: parcelguard.SizeS,
		SiteID: w.site.ID, Recipient: parcelguard.Recipient{Name: "Ada", Phone: "+4915112345678", Email: "ada@example.com"}}))
	must[*parcelguard.Parcel](t)(w.svc.Reserve(w.ctx, w.courier, x.ID))
	x = must[*parcelguard.Parcel](t)(w.svc.Deposit(w.ctx, w.courier, x.ID))
	pin, g, err := w.svc.PickupCode(w.ctx, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	return x, pin, g
}

func (w *world) parcel(id string) *parcelguard.Parcel {
	w.t.Helper()
	return must[*parcelguard.Parcel](w.t)(w.svc.Parcel(w.ctx, admin, id))
}

// eventually polls cond for up to 30 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// agentHas reports whether the agent holds grant id in state.
func (w *world) agentHas(id string, state parcelguard.GrantState) bool {
	g, err := w.agent.Grant(w.ctx, id)
	return err == nil && g.State == state
}

// eventCount counts the cloud's audit events of kind for a parcel, or
// for the whole site when parcelID is empty.
func (w *world) eventCount(parcelID string, kind parcelguard.EventKind) int {
	var evs []*parcelguard.Event
	if err := w.db.View(w.ctx, func(tx parcelguard.Tx) (err error) {
		f := parcelguard.EventFilter{ParcelID: parcelID}
		if parcelID == "" {
			f.Stream = parcelguard.SiteStream(w.site.ID)
		}
		evs, err = tx.Events(w.ctx, f)
		return err
	}); err != nil {
		w.t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// countApply is the cloud's event handler, counting deliveries.
func (w *world) countApply(ctx context.Context, ev devicemsg.Event) error {
	w.applied.Add(1)
	return w.svc.ApplyDeviceEvent(ctx, ev)
}

// lockOf returns the lock of a compartment.
func (w *world) lockOf(compartmentID string) int {
	for _, c := range w.prov.Compartments {
		if c.ID == compartmentID {
			return c.Lock
		}
	}
	w.t.Fatalf("no lock for %s", compartmentID)
	return 0
}

// siteEvents counts the site stream's audit events by kind.
func (w *world) siteEvents() map[parcelguard.EventKind]int {
	var evs []*parcelguard.Event
	if err := w.db.View(w.ctx, func(tx parcelguard.Tx) (err error) {
		evs, err = tx.Events(w.ctx, parcelguard.EventFilter{Stream: parcelguard.SiteStream(w.site.ID)})
		return err
	}); err != nil {
		w.t.Fatal(err)
	}
	out := map[parcelguard.EventKind]int{}
	for _, e := range evs {
		out[e.Kind]++
	}
	return out
}
