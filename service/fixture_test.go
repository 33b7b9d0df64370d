package service_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// fixture is a service on a real SQLite store in a temporary directory, a
// manual clock, and a small network: one site, one carrier, the roles'
// principals.
type fixture struct {
	t       testing.TB
	ctx     context.Context
	path    string
	db      *sqlite.DB
	keys    *code.Keyring
	clock   *parcelguard.ManualClock
	logs    *bytes.Buffer
	svc     *service.Service
	site    *parcelguard.Site
	carrier *parcelguard.Carrier

	operator, carrierP, courier, kiosk parcelguard.Principal
}

var admin = parcelguard.Principal{Role: parcelguard.RoleAdmin, KeyPrefix: "pgk_test"}

// newFixture builds the fixture with compartments of the given sizes.
func newFixture(t testing.TB, sizes ...parcelguard.SizeClass) *fixture {
	t.Helper()
	keys, err := code.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: context.Background(), path: filepath.Join(t.TempDir(), "pg.db"), keys: keys,
		clock: parcelguard.NewManualClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)), logs: &bytes.Buffer{}}
	f.open()
	t.Cleanup(func() { f.db.Close() })

	f.site = must(f.svc.CreateSite(f.ctx, admin, parcelguard.Site{Name: "Main Station", Address: "Bahnhofplatz 1, Munich",
		Lat: 48.14, Lon: 11.56, TimeZone: "Europe/Berlin", OpeningHours: "24/7"}))(t)
	for i, size := range sizes {
		must(f.svc.AddCompartment(f.ctx, admin, parcelguard.Compartment{SiteID: f.site.ID,
			Label: string(rune('A'+i/26)) + string(rune('a'+i%26)), Size: size}))(t)
	}
	f.carrier = must(f.svc.CreateCarrier(f.ctx, admin, parcelguard.Carrier{Name: "Fast Parcel", PhoneFactor: true}))(t)
	f.operator = parcelguard.Principal{Role: parcelguard.RoleOperator, KeyPrefix: "pgk_op"}
	f.carrierP = parcelguard.Principal{Role: parcelguard.RoleCarrier, KeyPrefix: "pgk_car", CarrierID: f.carrier.ID}
	f.courier = parcelguard.Principal{Role: parcelguard.RoleCourier, KeyPrefix: "pgk_cou", CarrierID: f.carrier.ID}
	f.kiosk = parcelguard.Principal{Role: parcelguard.RoleKiosk, KeyPrefix: "pgk_kio", SiteID: f.site.ID}
	return f
}

// open (re)opens the store and builds a fresh service on it, as a process
// restart would.
func (f *fixture) open() {
	f.t.Helper()
	db, err := sqlite.Open(f.ctx, f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	f.db = db
	logger := slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.svc = service.New(service.Config{Store: db, Clock: f.clock, Keys: f.keys, Logger: logger})
}

// restart closes the store and opens it again.
func (f *fixture) restart() {
	f.t.Helper()
	if err := f.db.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.open()
}

// announce announces a locker parcel for the fixture's site.
func (f *fixture) announce(tracking string, size parcelguard.SizeClass) *parcelguard.Parcel {
	f.t.Helper()
	return must(f.svc.Announce(f.ctx, f.carrierP, parcelguard.Parcel{TrackingNumber: tracking, Size: size,
		SiteID: f.site.ID, Recipient: parcelguard.Recipient{Name: "Ada Lovelace", Phone: "+4915112345678", Email: "ada@example.com", Language: "de"}}))(f.t)
}

// deposited announces, reserves and deposits a parcel and returns it with its PIN.
func (f *fixture) deposited(tracking string) (*parcelguard.Parcel, string) {
	f.t.Helper()
	p := f.announce(tracking, parcelguard.SizeS)
	must(f.svc.Reserve(f.ctx, f.courier, p.ID))(f.t)
	p = must(f.svc.Deposit(f.ctx, f.courier, p.ID))(f.t)
	pin, _, err := f.svc.PickupCode(f.ctx, p.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return p, pin
}

func (f *fixture) parcel(id string) *parcelguard.Parcel {
	f.t.Helper()
	return must(f.svc.Parcel(f.ctx, f.operator, id))(f.t)
}

// failer is what must needs of a *testing.T or a *rapid.T.
type failer interface {
	Helper()
	Fatal(args ...any)
}

// must fails the test on err and otherwise returns v.
func must[T any](v T, err error) func(failer) T {
	return func(t failer) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// phone is the fixture recipient's second factor.
const phone = "5678"
