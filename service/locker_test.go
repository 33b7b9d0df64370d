package service_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Ensure a parcel goes announced → reserved → deposited → picked_up with a
// grant that works once, and every step leaves its audit event.
func TestLockerLifecycle(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS, parcelguard.SizeM)
	p := f.announce("PG-1001", parcelguard.SizeM)
	if p.State != parcelguard.ParcelAnnounced {
		t.Fatalf("state %s", p.State)
	}
	p = must(f.svc.Reserve(f.ctx, f.courier, p.ID))(t)
	cmps := must(f.svc.Compartments(f.ctx, f.operator, f.site.ID))(t)
	var reserved *parcelguard.Compartment
	for _, c := range cmps {
		if c.ID == p.CompartmentID {
			reserved = c
		}
	}
	if reserved == nil || reserved.Size != parcelguard.SizeM || reserved.State != parcelguard.CompartmentReserved {
		t.Fatalf("reserved compartment %+v, want the M one", reserved)
	}
	p = must(f.svc.Deposit(f.ctx, f.courier, p.ID))(t)
	if want := f.clock.Now().Add(72 * time.Hour); !p.Deadline.Equal(want) {
		t.Fatalf("deadline %v, want %v", p.Deadline, want)
	}
	pin, _, err := f.svc.PickupCode(f.ctx, p.ID)
	if err != nil || len(pin) != 6 {
		t.Fatalf("pickup code %q, %v", pin, err)
	}
	res, err := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, phone)
	if err != nil {
		t.Fatalf("pickup: %v", err)
	}
	if res.CompartmentID != reserved.ID || res.CompartmentLabel != reserved.Label {
		t.Fatalf("opened %+v, want %s", res, reserved.Label)
	}
	if got := f.parcel(p.ID).State; got != parcelguard.ParcelPickedUp {
		t.Fatalf("state %s after pickup", got)
	}
	if _, err := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, phone); !errors.Is(err, parcelguard.ErrCodeRejected) {
		t.Fatalf("second pickup with the same code: %v, want ErrCodeRejected", err)
	}
	var kinds []string
	for _, e := range must(f.svc.ParcelEvents(f.ctx, f.operator, p.ID))(t) {
		kinds = append(kinds, string(e.Kind))
	}
	want := "parcel.announced parcel.reserved parcel.deposited parcel.picked_up"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	for _, c := range must(f.svc.Compartments(f.ctx, f.operator, f.site.ID))(t) {
		if c.State != parcelguard.CompartmentFree || c.ParcelID != "" {
			t.Fatalf("compartment %s is %s with %q after pickup", c.Label, c.State, c.ParcelID)
		}
	}
}

// Ensure a wrong phone number, a wrong PIN and another locker's PIN get the
// same answer, and five wrong phone numbers lock the grant for good.
func TestPickupSecondFactorAndLockout(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS, parcelguard.SizeS)
	p, pin := f.deposited("PG-2001")
	wrongPIN := "000000"
	if wrongPIN == pin {
		wrongPIN = "000001"
	}
	_, errPIN := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, wrongPIN, phone)
	_, errPhone := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, "0000")
	_, errNone := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, "")
	for _, err := range []error{errPIN, errPhone, errNone} {
		if !errors.Is(err, parcelguard.ErrCodeRejected) || err.Error() != parcelguard.ErrCodeRejected.Error() {
			t.Fatalf("got %v, want exactly ErrCodeRejected", err)
		}
	}
	// Let the locker's growing delay pass between attempts: this test is
	// about the grant's own limit.
	for range parcelguard.MaxGrantFailures - 2 {
		f.clock.Advance(time.Hour)
		if _, err := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, "1111"); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("wrong phone: %v", err)
		}
	}
	f.clock.Advance(time.Hour)
	if _, err := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, phone); !errors.Is(err, parcelguard.ErrCodeRejected) {
		t.Fatalf("right code after lockout: %v, want rejected", err)
	}
	if got := f.parcel(p.ID).State; got != parcelguard.ParcelDeposited {
		t.Fatalf("parcel %s after lockout", got)
	}
	locked := 0
	for _, e := range must(f.svc.ParcelEvents(f.ctx, f.operator, p.ID))(t) {
		if e.Kind == parcelguard.EventGrantLocked {
			locked++
		}
	}
	if locked != 1 {
		t.Fatalf("%d grant.locked events, want 1", locked)
	}
}

// Ensure the locker's failure budget throttles a guesser and alarms the
// operator, and the throttle answer carries when to retry.
func TestPickupLockerBudget(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS)
	var throttled *parcelguard.Error
	for i := range parcelguard.GuardFreeFailures + 1 {
		if _, err := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, "123456", phone); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	_, err := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, "123457", phone)
	if !errors.As(err, &throttled) || throttled.Code != parcelguard.ETHROTTLED || throttled.RetryAfter != parcelguard.GuardMinDelay {
		t.Fatalf("after budget: %v, want throttled for %v", err, parcelguard.GuardMinDelay)
	}
	// Keep guessing at the fastest allowed pace, the moment each block
	// ends, until well past the alarm.
	for guesses := parcelguard.GuardFreeFailures + 1; guesses < parcelguard.GuardAlarmAt+3; {
		f.clock.Advance(throttled.RetryAfter)
		_, err := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, "123456", phone)
		switch {
		case errors.Is(err, parcelguard.ErrCodeRejected):
			guesses++
			throttled = &parcelguard.Error{} // retry at once, to learn the new block
		case errors.As(err, &throttled) && throttled.Code == parcelguard.ETHROTTLED:
		default:
			t.Fatalf("guess %d: %v", guesses+1, err)
		}
	}
	alarms := 0
	err = f.db.View(f.ctx, func(tx parcelguard.Tx) error {
		evs, err := tx.Events(f.ctx, parcelguard.EventFilter{Stream: parcelguard.SiteStream(f.site.ID), Limit: 1000})
		for _, e := range evs {
			if e.Kind == parcelguard.EventAlarmGuessing {
				alarms++
			}
		}
		return err
	})
	if err != nil || alarms != 1 {
		t.Fatalf("%d alarms (%v), want 1", alarms, err)
	}
}

// Ensure honest mistakes spread over a busy day drain away: a wrong code
// every 20 minutes all day never blocks the kiosk, and the recipient whose
// turn comes next opens at once.
func TestPickupHonestMistakesDrain(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS)
	p, pin := f.deposited("PG-3002")
	for i := range 3 * 12 {
		if _, err := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, "123456", phone); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("mistake %d: %v, want rejected", i+1, err)
		}
		f.clock.Advance(20 * time.Minute)
	}
	res, err := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, phone)
	if err != nil || res.ParcelID != p.ID {
		t.Fatalf("pickup after a day of others' mistakes: %v, %v", res, err)
	}
}

// Ensure that of 200 goroutines presenting the same valid PIN at once,
// exactly one opens the door.
func TestPickupConcurrentSameCode(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS)
	p, pin := f.deposited("PG-3001")
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		opened int
	)
	for range 200 {
		wg.Go(func() {
			if _, err := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, phone); err == nil {
				mu.Lock()
				opened++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if opened != 1 {
		t.Fatalf("%d pickups opened the door, want exactly 1", opened)
	}
	if got := f.parcel(p.ID).State; got != parcelguard.ParcelPickedUp {
		t.Fatalf("state %s", got)
	}
}

// Ensure the reminder fires 24 h before the deadline, the expiry at it; the
// code stops working and the parcel joins the return queue, then is
// collected and returned.
func TestExpiryAndReturn(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS)
	p, pin := f.deposited("PG-4001")
	f.clock.Advance(47 * time.Hour)
	if n := must(f.svc.FireDueTimers(f.ctx))(t); n != 0 {
		t.Fatalf("%d timers fired 47 h in", n)
	}
	f.clock.Advance(time.Hour)
	if n := must(f.svc.FireDueTimers(f.ctx))(t); n != 1 {
		t.Fatalf("%d timers fired at 48 h, want the reminder", n)
	}
	f.clock.Advance(24 * time.Hour)
	if n := must(f.svc.FireDueTimers(f.ctx))(t); n != 1 {
		t.Fatalf("%d timers fired at the deadline, want the expiry", n)
	}
	if got := f.parcel(p.ID).State; got != parcelguard.ParcelExpired {
		t.Fatalf("state %s at deadline", got)
	}
	if _, err := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, phone); err == nil {
		t.Fatal("expired code still opens")
	}
	queue := must(f.svc.ReturnQueue(f.ctx, f.courier, f.site.ID))(t)
	if len(queue) != 1 || queue[0].ID != p.ID {
		t.Fatalf("return queue %v", queue)
	}
	must(f.svc.Collect(f.ctx, f.courier, p.ID))(t)
	if got := must(f.svc.MarkReturned(f.ctx, f.courier, p.ID))(t).State; got != parcelguard.ParcelReturned {
		t.Fatalf("state %s", got)
	}
	if n := must(f.svc.FireDueTimers(f.ctx))(t); n != 0 {
		t.Fatalf("%d timers left after return", n)
	}
}

// Ensure a timer that came due while the process was down fires once after
// the restart.
func TestTimersSurviveRestart(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS)
	p, _ := f.deposited("PG-5001")
	f.db.Close()
	f.clock.Advance(100 * time.Hour) // down across reminder and deadline
	f.open()
	if n := must(f.svc.FireDueTimers(f.ctx))(t); n != 2 {
		t.Fatalf("%d timers fired after restart, want reminder and expiry", n)
	}
	f.restart()
	if n := must(f.svc.FireDueTimers(f.ctx))(t); n != 0 {
		t.Fatalf("%d timers fired again after a second restart", n)
	}
	if got := f.parcel(p.ID).State; got != parcelguard.ParcelExpired {
		t.Fatalf("state %s", got)
	}
}

// Ensure no pickup code is ever in the database files or the logs.
func TestCodesNeverStoredOrLogged(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS, parcelguard.SizeS, parcelguard.SizeS, parcelguard.SizeS)
	var pins []string
	for i := range 4 {
		p, pin := f.deposited("PG-600" + string(rune('0'+i)))
		pins = append(pins, pin)
		if i%2 == 0 {
			must(f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, phone))(t)
		} else {
			_, _ = f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, "0000")
		}
		_ = p
	}
	f.db.Close()
	f.open()
	files, _ := filepath.Glob(f.path + "*")
	if len(files) == 0 {
		t.Fatal("no database files found")
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, pin := range pins {
			if strings.Contains(string(data), pin) {
				t.Errorf("PIN found in plain text in %s", filepath.Base(name))
			}
		}
	}
	for _, pin := range pins {
		if strings.Contains(f.logs.String(), pin) {
			t.Errorf("PIN found in the logs")
		}
	}
}

// Ensure a carrier sees only its own parcels: another carrier's parcel is
// not found, exactly like a missing one.
func TestCarrierIsolation(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS)
	p := f.announce("PG-7001", parcelguard.SizeS)
	other := must(f.svc.CreateCarrier(f.ctx, admin, parcelguard.Carrier{Name: "Other"}))(t)
	stranger := parcelguard.Principal{Role: parcelguard.RoleCarrier, KeyPrefix: "pgk_x", CarrierID: other.ID}
	_, errOther := f.svc.Parcel(f.ctx, stranger, p.ID)
	_, errMissing := f.svc.Parcel(f.ctx, stranger, "par_missing")
	if !errors.Is(errOther, parcelguard.ErrNotFound) || parcelguard.ErrorMessage(errOther) != parcelguard.ErrorMessage(errMissing) {
		t.Fatalf("other's parcel: %v; missing: %v", errOther, errMissing)
	}
	if _, err := f.svc.Deposit(f.ctx, parcelguard.Principal{Role: parcelguard.RoleCourier, CarrierID: other.ID}, p.ID); !errors.Is(err, parcelguard.ErrNotFound) {
		t.Fatalf("foreign courier deposit: %v", err)
	}
	if _, err := f.svc.Pickup(f.ctx, parcelguard.Principal{Role: parcelguard.RoleKiosk, SiteID: "site_other"}, f.site.ID, "123456", phone); !errors.Is(err, parcelguard.ErrForbidden) {
		t.Fatalf("kiosk of another site: %v", err)
	}
}
