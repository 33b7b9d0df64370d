package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/devicemsg"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// checkFixture is a finished sustained run in miniature: parcels taken
// through their whole life by the use cases and the dispatcher on a real
// SQLite store, as the HTTP workers would, for the checker to judge.
type checkFixture struct {
	path  string
	db    *sqlite.DB
	svc   *service.Service
	disp  *notify.Dispatcher
	w     *world
	scope scope
}

const checkFixtureParcels = 6

func newCheckFixture(t *testing.T) *checkFixture {
	t.Helper()
	ctx := t.Context()
	f := &checkFixture{path: filepath.Join(t.TempDir(), "bench.db")}
	var (
		keys *code.Keyring
		err  error
	)
	f.db, keys = openTestStore(t, f.path)
	f.svc = service.New(service.Config{Store: f.db, Clock: parcelguard.SystemClock{}, Keys: keys})
	if f.disp, err = notify.New(notify.Config{}, notify.Options{Store: f.db, Clock: parcelguard.SystemClock{}, Keys: keys, Codes: f.svc}); err != nil {
		t.Fatal(err)
	}
	if f.w, err = newWorld(ctx, f.svc, f.db, 0); err != nil {
		t.Fatal(err)
	}
	net := &lifeNetwork{w: f.w, compartments: 1}
	if err := net.addCompartments(ctx, f.svc); err != nil {
		t.Fatal(err)
	}
	for _, site := range net.siteIDs() { // lockers, so grants go out as device commands
		if _, err := f.svc.ProvisionLocker(ctx, parcelguard.System, site, "locker-"+site, "$2a$10$hash"); err != nil {
			t.Fatal(err)
		}
	}
	carrier := parcelguard.Principal{Role: parcelguard.RoleCarrier, KeyPrefix: "pgk_car", CarrierID: f.w.carrier.ID}
	courier := parcelguard.Principal{Role: parcelguard.RoleCourier, KeyPrefix: "pgk_cou", CarrierID: f.w.carrier.ID}
	mailbox := f.disp.Mailbox()
	for n := range int64(checkFixtureParcels) {
		to := recipientOf(n)
		r := parcelguard.Recipient{Name: to.Name, Phone: to.Phone, Email: to.Email, Language: to.Language}
		site := net.siteOf(int(n))
		x, err := f.svc.Announce(ctx, carrier, parcelguard.Parcel{TrackingNumber: fmt.Sprintf("LIFE-%09d", n), Recipient: r,
			Size: parcelguard.SizeS, SiteID: site.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Reserve(ctx, courier, x.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Deposit(ctx, courier, x.ID); err != nil {
			t.Fatal(err)
		}
		f.dispatch(t)
		sms, err := mailbox.List(ctx, parcelguard.MailboxFilter{Recipient: to.Phone})
		if err != nil || len(sms) != 1 {
			t.Fatalf("deposit SMS: %v, %v", sms, err)
		}
		pin, err := pinOf(sms[0].Text)
		if err != nil {
			t.Fatalf("%v in %q", err, sms[0].Text)
		}
		kiosk := parcelguard.Principal{Role: parcelguard.RoleKiosk, KeyPrefix: "pgk_kio", SiteID: site.ID}
		if _, err := f.svc.Pickup(ctx, kiosk, site.ID, pin, r.PhoneDigits(parcelguard.PhoneFactorDigits)); err != nil {
			t.Fatal(err)
		}
		f.dispatch(t)
	}
	f.scope = scope{carrierID: f.w.carrier.ID, siteIDs: net.siteIDs(), completed: checkFixtureParcels}
	return f
}

func (f *checkFixture) dispatch(t *testing.T) {
	t.Helper()
	if _, err := f.disp.DispatchDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.DispatchDeviceCommands(t.Context(), lockersTakeAll{}); err != nil {
		t.Fatal(err)
	}
}

// lockersTakeAll is a device channel whose lockers' queues store every
// command.
type lockersTakeAll struct{}

func (lockersTakeAll) PublishCommands(_ context.Context, out []devicemsg.Outgoing) []error {
	return make([]error, len(out))
}

// failed runs the checker and returns the names of the failed checks.
func (f *checkFixture) failed(t *testing.T, sc scope) []string {
	t.Helper()
	checks, _, err := checkInvariants(t.Context(), f.db, sc)
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 9 {
		t.Fatalf("%d checks, want 9: %+v", len(checks), checks)
	}
	var names []string
	for _, c := range checks {
		if c.Checked == 0 {
			t.Errorf("check %s looked at nothing", c.Name)
		}
		if c.OK != (c.Violations == 0) || len(c.Examples) > min(c.Violations, maxExamples) {
			t.Errorf("check %s is inconsistent: %+v", c.Name, c)
		}
		if !c.OK {
			names = append(names, c.Name)
		}
	}
	return names
}

// tamper runs raw SQL on the database file, as someone editing it would.
func (f *checkFixture) tamper(t *testing.T, q string, args ...any) {
	t.Helper()
	raw, err := sql.Open("sqlite", f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	res, err := raw.Exec(q, args...)
	if err != nil {
		t.Fatalf("tamper: %v", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("tamper changed nothing: %s", q)
	}
}

// somePickup returns a parcel.picked_up event of the run.
func (f *checkFixture) somePickup(t *testing.T) *parcelguard.Event {
	t.Helper()
	var found *parcelguard.Event
	err := f.db.View(t.Context(), func(tx parcelguard.Tx) error {
		evs, err := tx.Events(t.Context(), parcelguard.EventFilter{Stream: parcelguard.SiteStream(f.w.sites[0].ID), Limit: 1000})
		for _, e := range evs {
			if e.Kind == parcelguard.EventParcelPickedUp {
				found = e
			}
		}
		return err
	})
	if err != nil || found == nil {
		t.Fatalf("no pickup event: %v", err)
	}
	return found
}

// enqueue adds an outbox message about the parcel of e.
func (f *checkFixture) enqueue(t *testing.T, e *parcelguard.Event, kind parcelguard.MessageKind, ch parcelguard.Channel, to string, due time.Time) {
	t.Helper()
	now := time.Now()
	err := f.db.Update(t.Context(), func(tx parcelguard.Tx) error {
		return tx.EnqueueMessage(t.Context(), &parcelguard.Message{ID: parcelguard.NewID("msg", now), IdempotencyKey: "fault:" + parcelguard.NewID("key", now),
			Kind: kind, Channel: ch, Recipient: to, Language: "en", ParcelID: e.ParcelID, GrantID: e.GrantID, SiteID: e.SiteID,
			CarrierID: f.w.carrier.ID, Data: map[string]string{"at": now.Format(time.RFC3339Nano)}, State: parcelguard.MessagePending,
			DueAt: due, CreatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Ensure a clean run passes every check, and each injected fault is
// reported by the check that guards against it (and makes the run fail).
func TestLifecycleChecksCatchFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a store per fault")
	}
	t.Run("clean", func(t *testing.T) {
		f := newCheckFixture(t)
		if failed := f.failed(t, f.scope); len(failed) > 0 {
			t.Fatalf("a clean run failed %v", failed)
		}
	})
	for _, c := range []struct {
		name   string
		inject func(t *testing.T, f *checkFixture) scope
		want   []string
	}{
		{"workers double-count a parcel", func(t *testing.T, f *checkFixture) scope {
			sc := f.scope
			sc.completed++
			return sc
		}, []string{CheckPickedUp}},
		{"a parcel is back in its compartment", func(t *testing.T, f *checkFixture) scope {
			e := f.somePickup(t)
			f.tamper(t, `UPDATE parcels SET state = 'deposited' WHERE id = ?`, e.ParcelID)
			f.tamper(t, `UPDATE compartments SET state = 'occupied', parcel_id = ? WHERE id = ?`, e.ParcelID, e.CompartmentID)
			return f.scope
		}, []string{CheckPickedUp, CheckCompartments}},
		{"a grant opens twice", func(t *testing.T, f *checkFixture) scope {
			e := f.somePickup(t)
			again := &parcelguard.Event{Stream: e.Stream, At: time.Now(), Kind: e.Kind, SiteID: e.SiteID, CompartmentID: e.CompartmentID,
				ParcelID: e.ParcelID, GrantID: e.GrantID, Actor: e.Actor, Data: e.Data}
			if err := f.db.Update(t.Context(), func(tx parcelguard.Tx) error { return tx.AppendEvent(t.Context(), again) }); err != nil {
				t.Fatal(err)
			}
			return f.scope
		}, []string{CheckPickedUpOnce, CheckGrantOnce}},
		{"a second picked-up SMS goes out", func(t *testing.T, f *checkFixture) scope {
			f.enqueue(t, f.somePickup(t), parcelguard.MessagePickedUp, parcelguard.ChannelSMS, recipientOf(0).Phone, time.Now())
			f.dispatch(t)
			return f.scope
		}, []string{CheckNoticesOnce}},
		{"a message stays pending", func(t *testing.T, f *checkFixture) scope {
			f.enqueue(t, f.somePickup(t), parcelguard.MessagePickedUp, parcelguard.ChannelEmail, recipientOf(0).Email, time.Now().Add(time.Hour))
			return f.scope
		}, []string{CheckNoticesOnce, CheckOutboxDrained}},
		{"a delivered message is not in the mailbox", func(t *testing.T, f *checkFixture) scope {
			f.tamper(t, `DELETE FROM mailbox WHERE id = (SELECT min(id) FROM mailbox)`)
			return f.scope
		}, []string{CheckMailbox}},
		{"a grant never reaches its locker", func(t *testing.T, f *checkFixture) scope {
			f.tamper(t, `UPDATE device_commands SET state = 'pending' WHERE id = (SELECT max(id) FROM device_commands)`)
			return f.scope
		}, []string{CheckDevicesSent}},
		{"an audit event is edited", func(t *testing.T, f *checkFixture) scope {
			f.tamper(t, `UPDATE events SET data = '{"label":"Z9"}' WHERE id = ?`, f.somePickup(t).ID)
			return f.scope
		}, []string{CheckAudit}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newCheckFixture(t)
			sc := c.inject(t, f)
			failed := f.failed(t, sc)
			if !slices.Equal(failed, c.want) {
				t.Errorf("failed checks %v, want %v", failed, c.want)
			}
			res := LifecycleResult{Engine: "sqlite"}
			res.Invariants, _, _ = checkInvariants(t.Context(), f.db, sc)
			var ie *InvariantError
			if err := invariantErrors([]LifecycleResult{res}); !errors.As(err, &ie) || ie.Engine != "sqlite" {
				t.Errorf("run error %v, want an *InvariantError", err)
			}
		})
	}
}

// Ensure a skipped deposit e-mail (the parcel was picked up before it went
// out) is counted, not a violation, while a skipped picked-up notice is.
func TestLifecycleChecksSkippedNotices(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a store")
	}
	f := newCheckFixture(t)
	e := f.somePickup(t)
	f.enqueue(t, e, parcelguard.MessageDeposit, parcelguard.ChannelEmail, "late@bench.example", time.Now())
	// The original e-mail goes, so the late one is the parcel's only one.
	original := `SELECT id FROM outbox WHERE kind = 'deposit' AND channel = 'email' AND parcel_id = ? AND idempotency_key NOT LIKE 'fault:%'`
	f.tamper(t, `DELETE FROM mailbox WHERE message_id IN (`+original+`)`, e.ParcelID)
	f.tamper(t, `DELETE FROM outbox WHERE id IN (`+original+`)`, e.ParcelID)
	f.dispatch(t) // the parcel is picked up: the late deposit notice is skipped
	checks, skipped, err := checkInvariants(context.Background(), f.db, f.scope)
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 1 {
		t.Errorf("skipped = %d, want 1", skipped)
	}
	for _, c := range checks {
		if !c.OK {
			t.Errorf("check %s failed: %v", c.Name, c.Examples)
		}
	}
}
