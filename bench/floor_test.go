package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// TestFloorMirrorsService checks the floor's claim to be the service's
// transactions: deposit, pickup and expiry of a parcel, a doorstep
// handover and a locker's report of a pickup leave the same records
// (device commands, applied device events, outbox messages, audit events,
// timers, passwords, proofs and states) whether the service or the floor
// ran them. A service transaction that starts writing something new fails
// it until the floor writes it too.
func TestFloorMirrorsService(t *testing.T) {
	ctx := t.Context()
	svcSide := newMirrorSide(t, parcelguard.NewManualClock(time.Now()))
	floorSide := newMirrorSide(t, parcelguard.SystemClock{})
	courier := parcelguard.Principal{Role: parcelguard.RoleCourier, CarrierID: svcSide.w.carrier.ID, KeyPrefix: "pgk_mirror"}
	digits := parcelguard.Recipient{Phone: recipientPhone}.PhoneDigits(parcelguard.PhoneFactorDigits)

	// Item 0 is deposited and picked up, item 1 deposited and expired.
	for i := range 2 {
		it := &svcSide.w.items[i]
		if _, err := svcSide.svc.Deposit(ctx, courier, it.parcel); err != nil {
			t.Fatalf("service deposit: %v", err)
		}
		if err := floorSide.store.Update(ctx, func(tx parcelguard.Tx) error { return floorDeposit(ctx, tx, &floorSide.w.items[i]) }); err != nil {
			t.Fatalf("floor deposit: %v", err)
		}
	}
	compareMirror(t, "deposit", svcSide, floorSide)

	pin, _, err := svcSide.svc.PickupCode(ctx, svcSide.w.items[0].parcel)
	if err != nil {
		t.Fatal(err)
	}
	kiosk := parcelguard.Principal{Role: parcelguard.RoleKiosk, SiteID: svcSide.w.items[0].site}
	if _, err := svcSide.svc.Pickup(ctx, kiosk, svcSide.w.items[0].site, pin, digits); err != nil {
		t.Fatalf("service pickup: %v", err)
	}
	if err := floorSide.store.Update(ctx, func(tx parcelguard.Tx) error { return floorPickup(ctx, tx, &floorSide.w.items[0]) }); err != nil {
		t.Fatalf("floor pickup: %v", err)
	}
	compareMirror(t, "pickup", svcSide, floorSide)

	// The scheduler fires the reminder before the expiry; the floor's
	// expiry is the expiry timer's transaction alone, so records leaves
	// the reminder's message and event out.
	svcSide.clock.Advance(parcelguard.DefaultStoragePeriod + time.Minute)
	if _, err := svcSide.svc.FireDueTimers(ctx); err != nil {
		t.Fatalf("service timers: %v", err)
	}
	if err := floorSide.store.Update(ctx, func(tx parcelguard.Tx) error { return floorExpire(ctx, tx, &floorSide.w.items[1]) }); err != nil {
		t.Fatalf("floor expiry: %v", err)
	}
	compareMirror(t, "expiry", svcSide, floorSide)

	// Both sides send a doorstep parcel out through the use cases; the
	// courier then hands it over with the recipient's password.
	for _, side := range []*mirrorSide{svcSide, floorSide} {
		if err := side.w.seedDoorstep(ctx, side.svc, 1, 1); err != nil {
			t.Fatalf("doorstep seeding: %v", err)
		}
	}
	compareMirror(t, "out for delivery", svcSide, floorSide)
	if err := readPasswords(ctx, svcSide.svc, svcSide.store, svcSide.w, 1); err != nil {
		t.Fatal(err)
	}
	it := svcSide.w.doorstep[0]
	if _, err := svcSide.svc.VerifyDoorstep(ctx, courier, it.parcel, it.password, service.Position{Lat: doorstepLat, Lon: doorstepLon}); err != nil {
		t.Fatalf("service handover: %v", err)
	}
	if err := floorSide.store.Update(ctx, func(tx parcelguard.Tx) error { return floorDoorstep(ctx, tx, &floorSide.w.doorstep[0]) }); err != nil {
		t.Fatalf("floor handover: %v", err)
	}
	compareMirror(t, "doorstep", svcSide, floorSide)

	// Both sides deposit a parcel through the use case; its locker then
	// reports it picked up, applied by the service or by the floor.
	for _, side := range []*mirrorSide{svcSide, floorSide} {
		provision := func(ctx context.Context, sites []*parcelguard.Site) error {
			return provisionLockers(ctx, side.svc, sites)
		}
		if err := side.w.seedLocker(ctx, side.svc, side.store, 1, 1, 1, provision); err != nil {
			t.Fatalf("locker seeding: %v", err)
		}
	}
	compareMirror(t, "locker deposit", svcSide, floorSide)
	var svcEvents, floorEvents lockerEvents
	if err := svcSide.svc.ApplyDeviceEvent(ctx, svcEvents.pickup(&svcSide.w.locker[0])); err != nil {
		t.Fatalf("service locker pickup: %v", err)
	}
	ev := floorEvents.pickup(&floorSide.w.locker[0])
	if err := floorSide.store.Update(ctx, func(tx parcelguard.Tx) error { return floorLockerPickup(ctx, tx, &floorSide.w.locker[0], ev) }); err != nil {
		t.Fatalf("floor locker pickup: %v", err)
	}
	compareMirror(t, "locker pickup", svcSide, floorSide)
}

// mirrorSide is one store with the bench's world and lockers.
type mirrorSide struct {
	store *sqlite.DB
	svc   *service.Service
	clock *parcelguard.ManualClock
	w     *world
}

func newMirrorSide(t *testing.T, clock parcelguard.Clock) *mirrorSide {
	t.Helper()
	ctx := t.Context()
	store, keys := openTestStore(t, filepath.Join(t.TempDir(), "bench.db"))
	svc := service.New(service.Config{Store: store, Clock: clock, Keys: keys})
	w, err := newWorld(ctx, svc, store, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := provisionLockers(ctx, svc, w.sites); err != nil {
		t.Fatal(err)
	}
	m := &mirrorSide{store: store, svc: svc, w: w}
	m.clock, _ = clock.(*parcelguard.ManualClock)
	return m
}

// openTestStore opens a SQLite store at path, closed when t ends, and a
// keyring for the services over it.
func openTestStore(t *testing.T, path string) (*sqlite.DB, *code.Keyring) {
	t.Helper()
	store, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	keys, err := code.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	return store, keys
}

// records describes what the store holds of each of the side's locker
// parcels (the two of the world and those seeded for locker pickups) and
// its doorstep parcels, in terms that do not depend on ids or times,
// leaving out the reminder (not a transaction the floor measures).
func (m *mirrorSide) records(ctx context.Context) ([]string, error) {
	var out []string
	err := m.store.View(ctx, func(tx parcelguard.Tx) error {
		cmds, err := tx.DeviceCommands(ctx, parcelguard.DeviceCommandFilter{})
		if err != nil {
			return err
		}
		timers, err := tx.DueTimers(ctx, time.Now().AddDate(1, 0, 0), 1000) // every pending timer
		if err != nil {
			return err
		}
		for i := range 2 {
			lines, err := lockerRecords(ctx, tx, strconv.Itoa(i), m.w.items[i], cmds, timers)
			if err != nil {
				return err
			}
			out = append(out, lines...)
		}
		for i, it := range m.w.locker {
			lines, err := lockerRecords(ctx, tx, fmt.Sprintf("l%d", i), it, cmds, timers)
			if err != nil {
				return err
			}
			out = append(out, lines...)
		}
		for i, it := range m.w.doorstep {
			lines, err := doorstepRecords(ctx, tx, fmt.Sprintf("d%d", i), it.parcel, timers)
			if err != nil {
				return err
			}
			out = append(out, lines...)
		}
		for _, site := range append(slices.Clone(m.w.sites), m.w.lockerSites...) {
			applied, err := tx.AppliedDeviceEvents(ctx, site.ID)
			if err != nil {
				return err
			}
			for _, a := range applied {
				out = append(out, fmt.Sprintf("applied device event %s", a.Kind))
			}
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

// lockerRecords describes a locker parcel: its state and compartment's,
// its grants and their commands, messages, events and timers.
func lockerRecords(ctx context.Context, tx parcelguard.Tx, tag string, it item, cmds []*parcelguard.DeviceCommand,
	timers []*parcelguard.Timer) ([]string, error) {
	x, err := tx.Parcel(ctx, it.parcel)
	if err != nil {
		return nil, err
	}
	c, err := tx.Compartment(ctx, it.compartment)
	if err != nil {
		return nil, err
	}
	out := []string{fmt.Sprintf("%s parcel %s, compartment %s", tag, x.State, c.State)}
	grants, err := tx.GrantsOfParcel(ctx, x.ID)
	if err != nil {
		return nil, err
	}
	for _, g := range grants {
		out = append(out, fmt.Sprintf("%s grant %s %s", tag, g.Purpose, g.State))
		for _, cmd := range cmds {
			if cmd.GrantID == g.ID {
				out = append(out, fmt.Sprintf("%s command %s %v", tag, cmd.Kind, cmd.Data))
			}
		}
	}
	msgs, err := tx.Messages(ctx, parcelguard.MessageFilter{ParcelID: x.ID})
	if err != nil {
		return nil, err
	}
	for _, msg := range msgs {
		if msg.Kind != parcelguard.MessageReminder {
			out = append(out, fmt.Sprintf("%s message %s %s", tag, msg.Kind, msg.Channel))
		}
	}
	events, err := tx.Events(ctx, parcelguard.EventFilter{ParcelID: x.ID})
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		if e.Kind != parcelguard.EventParcelReminded {
			out = append(out, fmt.Sprintf("%s event %s by %s via %s", tag, e.Kind, e.Data["by"], e.Data["via"]))
		}
	}
	for _, tm := range timers {
		if tm.ParcelID == x.ID {
			out = append(out, fmt.Sprintf("%s timer %s", tag, tm.Kind))
		}
	}
	return out, nil
}

// doorstepRecords describes a doorstep parcel: its state, delivery,
// passwords, proof, messages, events and timers.
func doorstepRecords(ctx context.Context, tx parcelguard.Tx, tag, parcelID string, timers []*parcelguard.Timer) ([]string, error) {
	x, err := tx.Parcel(ctx, parcelID)
	if err != nil {
		return nil, err
	}
	d, err := tx.Doorstep(ctx, parcelID)
	if err != nil {
		return nil, err
	}
	out := []string{fmt.Sprintf("%s parcel %s, doorstep attempts %d failures %d locked %t password %s", tag, x.State,
		d.Attempts, d.Failures, d.Locked, d.PasswordReason)}
	pws, err := tx.DoorstepPasswords(ctx, parcelID)
	if err != nil {
		return nil, err
	}
	for _, pw := range pws {
		out = append(out, fmt.Sprintf("%s password %s %s", tag, pw.Holder, pw.State))
	}
	switch proof, err := tx.DoorstepProof(ctx, parcelID); {
	case err == nil:
		out = append(out, fmt.Sprintf("%s proof by %s at %.0f m, password used %t", tag, proof.Holder, proof.DistanceM,
			slices.ContainsFunc(pws, func(pw *parcelguard.DoorstepPassword) bool {
				return pw.ID == proof.PasswordID && pw.State == parcelguard.GrantUsed
			})))
	case !errors.Is(err, parcelguard.ErrNotFound):
		return nil, err
	}
	msgs, err := tx.Messages(ctx, parcelguard.MessageFilter{ParcelID: parcelID})
	if err != nil {
		return nil, err
	}
	for _, msg := range msgs {
		out = append(out, fmt.Sprintf("%s message %s %s", tag, msg.Kind, msg.Channel))
	}
	events, err := tx.Events(ctx, parcelguard.EventFilter{ParcelID: parcelID})
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		out = append(out, fmt.Sprintf("%s event %s in %s", tag, e.Kind, streamKind(e.Stream)))
	}
	for _, tm := range timers {
		if tm.ParcelID == parcelID {
			out = append(out, fmt.Sprintf("%s timer %s", tag, tm.Kind))
		}
	}
	return out, nil
}

// streamKind is an audit stream's name up to its id ("site", "carrier").
func streamKind(stream string) string {
	kind, _, _ := strings.Cut(stream, ":")
	return kind
}

func compareMirror(t *testing.T, step string, svcSide, floorSide *mirrorSide) {
	t.Helper()
	want, err := svcSide.records(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := floorSide.records(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("after %s the floor's records differ from the service's:\nfloor:   %q\nservice: %q", step, got, want)
	}
}
