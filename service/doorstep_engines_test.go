package service_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/internal/pgtest"
	"github.com/parcelguard/parcelguard/postgres"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// dsEnv is a doorstep service on one engine: a manual clock, one locker
// near the delivery address with the given compartments, one carrier.
type dsEnv struct {
	t        testing.TB
	ctx      context.Context
	store    parcelguard.Store
	clock    *parcelguard.ManualClock
	svc      *service.Service
	site     *parcelguard.Site
	carrier  *parcelguard.Carrier
	carrierP parcelguard.Principal
	courier  parcelguard.Principal
	operator parcelguard.Principal
}

// doorstepEngines runs fn against SQLite and PostgreSQL, each with a
// fresh environment whose locker has compartments of sizes.
func doorstepEngines(t *testing.T, sizes []parcelguard.SizeClass, fn func(t *testing.T, e *dsEnv)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pg.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, newDSEnv(t, db, sizes))
	})
	t.Run("postgres", func(t *testing.T) {
		if testing.Short() {
			t.Skip("PostgreSQL in -short mode")
		}
		db, err := postgres.Open(t.Context(), pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, newDSEnv(t, db, sizes))
	})
}

func newDSEnv(t testing.TB, store parcelguard.Store, sizes []parcelguard.SizeClass) *dsEnv {
	t.Helper()
	keys, err := code.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	e := &dsEnv{t: t, ctx: context.Background(), store: store,
		clock: parcelguard.NewManualClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))}
	e.svc = service.New(service.Config{Store: store, Clock: e.clock, Keys: keys})
	e.site = must(e.svc.CreateSite(e.ctx, admin, parcelguard.Site{Name: "Main Station", Address: "Bahnhofplatz 1, Munich",
		Lat: 48.14, Lon: 11.56, TimeZone: "Europe/Berlin"}))(t)
	for i, size := range sizes {
		must(e.svc.AddCompartment(e.ctx, admin, parcelguard.Compartment{SiteID: e.site.ID, Label: "D" + string(rune('a'+i)), Size: size}))(t)
	}
	e.carrier = must(e.svc.CreateCarrier(e.ctx, admin, parcelguard.Carrier{Name: "Fast Parcel"}))(t)
	e.carrierP = parcelguard.Principal{Role: parcelguard.RoleCarrier, KeyPrefix: "pgk_car", CarrierID: e.carrier.ID}
	e.courier = parcelguard.Principal{Role: parcelguard.RoleCourier, KeyPrefix: "pgk_cou", CarrierID: e.carrier.ID}
	e.operator = parcelguard.Principal{Role: parcelguard.RoleOperator, KeyPrefix: "pgk_op"}
	return e
}

// setPolicy saves the carrier's policy with maxAttempts and fallback.
func (e *dsEnv) setPolicy(maxAttempts int, fallback parcelguard.DoorstepFallback) {
	e.t.Helper()
	pol := parcelguard.DefaultDoorstepPolicy(e.carrier.ID)
	pol.MaxAttempts, pol.Fallback = maxAttempts, fallback
	must(e.svc.SetDoorstepPolicy(e.ctx, e.operator, *pol))(e.t)
}

// announce announces a doorstep parcel to door that needs a password, in
// zone and country.
func (e *dsEnv) announce(tracking, zone, country string) *service.DoorstepParcel {
	e.t.Helper()
	return must(e.svc.AnnounceDoorstep(e.ctx, e.carrierP, service.DoorstepAnnouncement{
		Parcel: parcelguard.Parcel{TrackingNumber: tracking, Size: parcelguard.SizeS,
			Recipient: parcelguard.Recipient{Name: "Ada Lovelace", Phone: "+4915112345678", Email: "ada@example.com", Language: "en"}},
		Address: "Arnulfstr. 1, 80335 München", Lat: door.Lat, Lon: door.Lon, TimeZone: zone, Country: country,
		PasswordFlag: true}))(e.t)
}

// get returns the parcel's doorstep view.
func (e *dsEnv) get(id string) *service.DoorstepParcel {
	e.t.Helper()
	return must(e.svc.DoorstepParcel(e.ctx, e.operator, id))(e.t)
}

// tracking returns what the recipient's page shows.
func (e *dsEnv) tracking(id string) *service.DoorstepTracking {
	e.t.Helper()
	tok := must(e.svc.RecipientLink(e.ctx, id))(e.t)
	a := must(e.svc.AuthenticateRecipient(e.ctx, tok))(e.t)
	return must(e.svc.TrackDoorstep(e.ctx, a))(e.t)
}

// fire runs one scheduler pass and returns how many timers fired.
func (e *dsEnv) fire() int {
	e.t.Helper()
	return must(e.svc.FireDueTimers(e.ctx))(e.t)
}

// events returns the parcel's audit events.
func (e *dsEnv) events(id string) []*parcelguard.Event {
	e.t.Helper()
	return must(e.svc.ParcelEvents(e.ctx, e.operator, id))(e.t)
}

// messages returns the parcel's outbox messages of kind.
func (e *dsEnv) messages(id string, kind parcelguard.MessageKind) []*parcelguard.Message {
	e.t.Helper()
	var out []*parcelguard.Message
	err := e.store.View(e.ctx, func(tx parcelguard.Tx) (err error) {
		out, err = tx.Messages(e.ctx, parcelguard.MessageFilter{ParcelID: id, Kind: kind})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// localTime returns the instant of a wall-clock time in zone.
func localTime(t testing.TB, zone string, y int, m time.Month, d, h int) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(y, m, d, h, 0, 0, 0, loc)
}
