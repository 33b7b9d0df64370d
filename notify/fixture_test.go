package notify_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// fixture is a service on a real SQLite store with a manual clock, one
// locker with compartments, and one carrier.
type fixture struct {
	t       testing.TB
	ctx     context.Context
	path    string
	db      *sqlite.DB
	keys    *code.Keyring
	clock   *parcelguard.ManualClock
	svc     *service.Service
	site    *parcelguard.Site
	carrier *parcelguard.Carrier

	carrierP, courier, kiosk parcelguard.Principal
}

var admin = parcelguard.Principal{Role: parcelguard.RoleAdmin, KeyPrefix: "pgk_test"}

func newFixture(t testing.TB, compartments int) *fixture {
	t.Helper()
	keys, err := code.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: context.Background(), path: filepath.Join(t.TempDir(), "pg.db"), keys: keys,
		clock: parcelguard.NewManualClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))}
	f.open()
	t.Cleanup(func() { f.db.Close() })
	f.site = must(f.svc.CreateSite(f.ctx, admin, parcelguard.Site{Name: "Main Station", Address: "Bahnhofplatz 1, Munich",
		Lat: 48.14, Lon: 11.56, TimeZone: "Europe/Berlin", OpeningHours: "24/7"}))(t)
	for i := range compartments {
		must(f.svc.AddCompartment(f.ctx, admin, parcelguard.Compartment{SiteID: f.site.ID,
			Label: fmt.Sprintf("A%02d", i), Size: parcelguard.SizeS}))(t)
	}
	f.carrier = must(f.svc.CreateCarrier(f.ctx, admin, parcelguard.Carrier{Name: "Fast Parcel", PhoneFactor: true}))(t)
	f.carrierP = parcelguard.Principal{Role: parcelguard.RoleCarrier, KeyPrefix: "pgk_car", CarrierID: f.carrier.ID}
	f.courier = parcelguard.Principal{Role: parcelguard.RoleCourier, KeyPrefix: "pgk_cou", CarrierID: f.carrier.ID}
	f.kiosk = parcelguard.Principal{Role: parcelguard.RoleKiosk, KeyPrefix: "pgk_kio", SiteID: f.site.ID}
	return f
}

// open (re)opens the store and a service on it, as a process start would.
func (f *fixture) open() {
	f.t.Helper()
	db, err := sqlite.Open(f.ctx, f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	f.db = db
	f.svc = service.New(service.Config{Store: db, Clock: f.clock, Keys: f.keys})
}

// deposit announces, reserves and deposits a parcel for recipient r.
func (f *fixture) deposit(tracking string, r parcelguard.Recipient) *parcelguard.Parcel {
	f.t.Helper()
	p := must(f.svc.Announce(f.ctx, f.carrierP, parcelguard.Parcel{TrackingNumber: tracking, Size: parcelguard.SizeS,
		SiteID: f.site.ID, Recipient: r}))(f.t)
	must(f.svc.Reserve(f.ctx, f.courier, p.ID))(f.t)
	return must(f.svc.Deposit(f.ctx, f.courier, p.ID))(f.t)
}

var ada = parcelguard.Recipient{Name: "Ada Lovelace", Phone: "+4915112345678", Email: "ada@example.com", Language: "de"}

// dispatcher returns a dispatcher on the fixture's store.
func (f *fixture) dispatcher(cfg notify.Config, senders map[parcelguard.Channel]notify.Sender) *notify.Dispatcher {
	f.t.Helper()
	d, err := notify.New(cfg, notify.Options{Store: f.db, Clock: f.clock, Keys: f.keys, Codes: f.svc, Senders: senders,
		Rand: func() float64 { return 0.5 }})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// messages lists the outbox.
func (f *fixture) messages(filter parcelguard.MessageFilter) (out []*parcelguard.Message) {
	f.t.Helper()
	err := f.db.View(f.ctx, func(tx parcelguard.Tx) (err error) {
		out, err = tx.Messages(f.ctx, filter)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// dispatch runs one DispatchDue and fails the test on error.
func (f *fixture) dispatch(d *notify.Dispatcher) int {
	f.t.Helper()
	n, err := d.DispatchDue(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// must fails the test on err and otherwise returns v: must(f())(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// recorder is a Sender that records what it is given and answers with
// the errors queued in fail (nil when empty).
type recorder struct {
	mu   sync.Mutex
	sent []*notify.Rendered
	fail []error
	hook func(r *notify.Rendered) // runs before answering
}

func (r *recorder) Send(ctx context.Context, m *notify.Rendered) error {
	if r.hook != nil {
		r.hook(m)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, m)
	if len(r.fail) > 0 {
		err := r.fail[0]
		r.fail = r.fail[1:]
		return err
	}
	return nil
}

func (r *recorder) keys() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, m := range r.sent {
		out[m.IdempotencyKey]++
	}
	return out
}
