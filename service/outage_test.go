package service_test

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/internal/pgtest"
	"github.com/parcelguard/parcelguard/postgres"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// outageEnv is a service on one engine with a site of four S compartments.
type outageEnv struct {
	ctx                      context.Context
	store                    parcelguard.Store
	clock                    *parcelguard.ManualClock
	svc                      *service.Service
	site                     *parcelguard.Site
	carrierP, courier, kiosk parcelguard.Principal
	operator                 parcelguard.Principal
}

// onBothEngines runs fn against SQLite and PostgreSQL.
func onBothEngines(t *testing.T, fn func(t *testing.T, e *outageEnv)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pg.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, newOutageEnv(t, db))
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
		fn(t, newOutageEnv(t, db))
	})
}

func newOutageEnv(t *testing.T, store parcelguard.Store) *outageEnv {
	keys, err := code.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	e := &outageEnv{ctx: t.Context(), store: store, clock: parcelguard.NewManualClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))}
	e.svc = service.New(service.Config{Store: store, Clock: e.clock, Keys: keys})
	e.site = must(e.svc.CreateSite(e.ctx, admin, parcelguard.Site{Name: "Main Station", Address: "Bahnhofplatz 1, Munich",
		Lat: 48.14, Lon: 11.56, TimeZone: "Europe/Berlin"}))(t)
	for _, label := range []string{"A1", "A2", "A3", "A4"} {
		must(e.svc.AddCompartment(e.ctx, admin, parcelguard.Compartment{SiteID: e.site.ID, Label: label, Size: parcelguard.SizeS}))(t)
	}
	carrier := must(e.svc.CreateCarrier(e.ctx, admin, parcelguard.Carrier{Name: "Fast Parcel", PhoneFactor: true}))(t)
	e.carrierP = parcelguard.Principal{Role: parcelguard.RoleCarrier, KeyPrefix: "pgk_car", CarrierID: carrier.ID}
	e.courier = parcelguard.Principal{Role: parcelguard.RoleCourier, KeyPrefix: "pgk_cou", CarrierID: carrier.ID}
	e.kiosk = parcelguard.Principal{Role: parcelguard.RoleKiosk, KeyPrefix: "pgk_kio", SiteID: e.site.ID}
	e.operator = parcelguard.Principal{Role: parcelguard.RoleOperator, KeyPrefix: "pgk_op"}
	return e
}

// deposit puts a parcel into the locker and returns it with its PIN.
func (e *outageEnv) deposit(t *testing.T, tracking string) (*parcelguard.Parcel, string) {
	t.Helper()
	p := must(e.svc.Announce(e.ctx, e.carrierP, parcelguard.Parcel{TrackingNumber: tracking, Size: parcelguard.SizeS, SiteID: e.site.ID,
		Recipient: parcelguard.Recipient{Name: "Ada Lovelace", Phone: "+4915112345678", Email: "ada@example.com", Language: "de"}}))(t)
	must(e.svc.Reserve(e.ctx, e.courier, p.ID))(t)
	p = must(e.svc.Deposit(e.ctx, e.courier, p.ID))(t)
	pin, _, err := e.svc.PickupCode(e.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p, pin
}

func (e *outageEnv) parcel(t *testing.T, id string) *parcelguard.Parcel {
	t.Helper()
	return must(e.svc.Parcel(e.ctx, e.operator, id))(t)
}

func (e *outageEnv) sweep(t *testing.T) service.OutageSweep {
	t.Helper()
	sum, err := e.svc.SweepOutages(e.ctx, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// fire runs the scheduler pass a running service would make now.
func (e *outageEnv) fire(t *testing.T) {
	t.Helper()
	if _, err := e.svc.FireDueTimers(e.ctx); err != nil {
		t.Fatal(err)
	}
}

// messages returns the outbox messages by kind, as "key|deadline"; it
// claims them, so call it once per test.
func (e *outageEnv) messages(t *testing.T) map[parcelguard.MessageKind][]string {
	t.Helper()
	var out map[parcelguard.MessageKind][]string
	err := e.store.Update(e.ctx, func(tx parcelguard.Tx) error {
		out = map[parcelguard.MessageKind][]string{}
		ms, err := tx.ClaimMessages(e.ctx, e.clock.Now().Add(1000*time.Hour), 1000, time.Minute)
		for _, m := range ms {
			out[m.Kind] = append(out[m.Kind], m.IdempotencyKey+"|"+m.Data["deadline"])
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, keys := range out {
		sort.Strings(keys)
	}
	return out
}

// events returns the kinds of the parcel's audit events.
func (e *outageEnv) events(t *testing.T, parcelID string) ([]*parcelguard.Event, string) {
	t.Helper()
	evs := must(e.svc.ParcelEvents(e.ctx, e.operator, parcelID))(t)
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, string(ev.Kind))
	}
	return evs, strings.Join(kinds, " ")
}

// Ensure an unreachable locker's parcel outlives its deadline, and gets
// the outage's length added (and at least a day) once the locker is back.
func TestOutageUnreachableLockerExtendsDeadline(t *testing.T) {
	onBothEngines(t, func(t *testing.T, e *outageEnv) {
		p, pin := e.deposit(t, "PG-2001")
		deadline := p.Deadline // deposit + 72 h
		if err := e.svc.LockerHeartbeat(e.ctx, e.site.ID, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(24 * time.Hour)
		lastSeen := e.clock.Now()
		must(0, e.svc.LockerHeartbeat(e.ctx, e.site.ID, lastSeen))(t)

		// Silent for 9 minutes: not yet unreachable.
		e.clock.Advance(9 * time.Minute)
		if sum := e.sweep(t); sum != (service.OutageSweep{}) {
			t.Fatalf("sweep before the limit: %+v", sum)
		}
		// Silent for 11 minutes: unreachable, the parcel is held.
		e.clock.Advance(2 * time.Minute)
		if sum := e.sweep(t); sum.Unreachable != 1 || sum.Held != 1 {
			t.Fatalf("sweep after the limit: %+v", sum)
		}
		if sum := e.sweep(t); sum != (service.OutageSweep{}) {
			t.Fatalf("second sweep repeated work: %+v", sum)
		}

		// The deadline comes and goes during the outage: nothing expires.
		e.clock.Advance(60 * time.Hour)
		e.fire(t)
		if got := e.parcel(t, p.ID); got.State != parcelguard.ParcelDeposited {
			t.Fatalf("state %s during the outage", got.State)
		}
		if !e.clock.Now().After(deadline) {
			t.Fatal("test does not pass the old deadline")
		}

		// The locker is back after 60 h 11 min of silence; the sweep
		// releases the parcel and extends the deadline by the outage.
		back := e.clock.Now()
		must(0, e.svc.LockerHeartbeat(e.ctx, e.site.ID, back))(t)
		if sum := e.sweep(t); sum.Released != 1 || sum.Held != 0 {
			t.Fatalf("sweep after return: %+v", sum)
		}
		got := e.parcel(t, p.ID)
		want := deadline.Add(back.Sub(lastSeen))
		if !got.Deadline.Equal(want) {
			t.Fatalf("deadline %v, want %v (old %v + outage %v)", got.Deadline, want, deadline, back.Sub(lastSeen))
		}
		// The rule's floor: at least a day after the end.
		if got.Deadline.Before(back.Add(parcelguard.MinPickupAfterOutage)) {
			t.Fatalf("deadline %v leaves less than a day after %v", got.Deadline, back)
		}

		// The code still works until the new deadline, not after.
		e.clock.Advance(got.Deadline.Sub(e.clock.Now()) - time.Minute)
		e.fire(t)
		if _, err := e.svc.Pickup(e.ctx, e.kiosk, e.site.ID, pin, "5678"); err != nil {
			t.Fatalf("pickup a minute before the new deadline: %v", err)
		}

		_, kinds := e.events(t, p.ID)
		if want := "parcel.announced parcel.reserved parcel.deposited parcel.storage_held parcel.deadline_extended parcel.reminded parcel.picked_up"; kinds != want {
			t.Fatalf("events %q, want %q", kinds, want)
		}
		msgs := e.messages(t)
		if m := msgs[parcelguard.MessageOutage]; len(m) != 2 { // e-mail and SMS
			t.Fatalf("outage messages %v", m)
		}
		if m := msgs[parcelguard.MessageDeadlineExtended]; len(m) != 2 || !strings.HasSuffix(m[0], got.Deadline.Format(time.RFC3339)) {
			t.Fatalf("extension messages %v", m)
		}
	})
}

// Ensure an operator's out-of-service and a broken compartment hold
// parcels too; the floor gives a full day after a short outage at the end
// of the storage time; the extension event records old and new deadline.
func TestOutageOutOfServiceAndBrokenCompartment(t *testing.T) {
	onBothEngines(t, func(t *testing.T, e *outageEnv) {
		a, _ := e.deposit(t, "PG-3001")
		b, _ := e.deposit(t, "PG-3002")
		e.clock.Advance(71 * time.Hour) // an hour before both deadlines

		// Compartment of b breaks (the device side marks it).
		err := e.store.Update(e.ctx, func(tx parcelguard.Tx) error {
			c, err := tx.Compartment(e.ctx, b.CompartmentID)
			if err != nil {
				return err
			}
			c.State = parcelguard.CompartmentOutOfOrder
			return tx.SaveCompartment(e.ctx, c)
		})
		if err != nil {
			t.Fatal(err)
		}
		if sum := e.sweep(t); sum.Held != 1 {
			t.Fatalf("broken compartment: %+v", sum)
		}
		// Operators only.
		if err := e.svc.SetSiteOutOfService(e.ctx, e.courier, e.site.ID, true, "x"); !errors.Is(err, parcelguard.ErrForbidden) {
			t.Fatalf("courier took the site out of service: %v", err)
		}
		must(0, e.svc.SetSiteOutOfService(e.ctx, e.operator, e.site.ID, true, "glass broken"))(t)
		if sum := e.sweep(t); sum.Held != 1 {
			t.Fatalf("out of service: %+v", sum)
		}
		e.clock.Advance(2 * time.Hour)
		e.fire(t) // both deadlines passed
		for _, x := range []*parcelguard.Parcel{a, b} {
			if s := e.parcel(t, x.ID).State; s != parcelguard.ParcelDeposited {
				t.Fatalf("%s is %s during the outage", x.TrackingNumber, s)
			}
		}

		// Back in service: a is released (2 h outage, but a full day after
		// the end); b stays held while its compartment is broken.
		must(0, e.svc.SetSiteOutOfService(e.ctx, e.operator, e.site.ID, false, ""))(t)
		end := e.clock.Now()
		if sum := e.sweep(t); sum.Released != 1 {
			t.Fatalf("back in service: %+v", sum)
		}
		if got := e.parcel(t, a.ID).Deadline; !got.Equal(end.Add(parcelguard.MinPickupAfterOutage)) {
			t.Fatalf("a's deadline %v, want %v", got, end.Add(parcelguard.MinPickupAfterOutage))
		}
		if got := e.parcel(t, b.ID).Deadline; !got.Equal(b.Deadline) {
			t.Fatalf("b's deadline moved to %v while its compartment is broken", got)
		}
		evs, _ := e.events(t, a.ID)
		ext := evs[len(evs)-1]
		if ext.Kind != parcelguard.EventParcelDeadlineExtended || ext.Data["from"] != a.Deadline.Format(time.RFC3339) ||
			ext.Data["to"] != end.Add(parcelguard.MinPickupAfterOutage).Format(time.RFC3339) || ext.Data["cause"] != string(parcelguard.CauseOutOfService) {
			t.Fatalf("extension event %+v", ext)
		}

		// The expiry timer follows the new deadline.
		e.clock.Advance(parcelguard.MinPickupAfterOutage)
		e.fire(t)
		if s := e.parcel(t, a.ID).State; s != parcelguard.ParcelExpired {
			t.Fatalf("a is %s after its extended deadline", s)
		}
		if s := e.parcel(t, b.ID).State; s != parcelguard.ParcelDeposited {
			t.Fatalf("b is %s while its compartment is still broken", s)
		}
	})
}

// Ensure heartbeats for unknown sites fail cleanly, out-of-order ones
// never move LastSeen back, and a site never heard from is not declared
// unreachable.
func TestLockerHeartbeat(t *testing.T) {
	onBothEngines(t, func(t *testing.T, e *outageEnv) {
		if err := e.svc.LockerHeartbeat(e.ctx, "site_missing", e.clock.Now()); !errors.Is(err, parcelguard.ErrNotFound) {
			t.Fatalf("unknown site: %v", err)
		}
		e.clock.Advance(time.Hour)
		if sum := e.sweep(t); sum != (service.OutageSweep{}) {
			t.Fatalf("a site never heard from was swept: %+v", sum)
		}
		now := e.clock.Now()
		must(0, e.svc.LockerHeartbeat(e.ctx, e.site.ID, now))(t)
		must(0, e.svc.LockerHeartbeat(e.ctx, e.site.ID, now.Add(-time.Hour)))(t)   // late arrival
		must(0, e.svc.LockerHeartbeat(e.ctx, e.site.ID, now.Add(24*time.Hour)))(t) // clock far ahead: taken as now
		var st *parcelguard.LockerStatus
		err := e.store.View(e.ctx, func(tx parcelguard.Tx) (err error) {
			st, err = tx.LockerStatus(e.ctx, e.site.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !st.LastSeen.Equal(now) {
			t.Fatalf("last seen %v, want %v", st.LastSeen, now)
		}
	})
}
