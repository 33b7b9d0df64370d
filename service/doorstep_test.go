package service_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// door is a point about 130 m from the fixture's locker, where doorstep
// parcels are delivered.
var door = service.Position{Lat: 48.141, Lon: 11.561}

// doorstep announces a doorstep parcel to door that needs a password when
// flag is set.
func (f *fixture) doorstep(tracking string, flag bool) *service.DoorstepParcel {
	f.t.Helper()
	return must(f.svc.AnnounceDoorstep(f.ctx, f.carrierP, service.DoorstepAnnouncement{
		Parcel: parcelguard.Parcel{TrackingNumber: tracking, Size: parcelguard.SizeS, DeclaredValue: 129900, Currency: "EUR",
			Recipient: parcelguard.Recipient{Name: "Ada Lovelace", Phone: "+4915112345678", Email: "ada@example.com", Language: "de"}},
		Address: "Arnulfstr. 1, 80335 München", Lat: door.Lat, Lon: door.Lon, TimeZone: "Europe/Berlin", Country: "DE",
		PasswordFlag: flag}))(f.t)
}

// recipient returns the recipient link access of a parcel.
func (f *fixture) recipient(parcelID string) *service.RecipientAccess {
	f.t.Helper()
	tok := must(f.svc.RecipientLink(f.ctx, parcelID))(f.t)
	return must(f.svc.AuthenticateRecipient(f.ctx, tok))(f.t)
}

// password is the recipient's current delivery password as the tracking
// page shows it.
func (f *fixture) password(parcelID string) string {
	f.t.Helper()
	tr := must(f.svc.TrackDoorstep(f.ctx, f.recipient(parcelID)))(f.t)
	if tr.Password == "" {
		f.t.Fatalf("no delivery password for %s", parcelID)
	}
	return tr.Password
}

// other returns a 6-digit password different from pw.
func other(pw string) string {
	if pw == "000000" {
		return "000001"
	}
	return "000000"
}

// events returns the kinds of a parcel's events in order.
func (f *fixture) eventKinds(parcelID string) []parcelguard.EventKind {
	f.t.Helper()
	var out []parcelguard.EventKind
	for _, e := range must(f.svc.ParcelEvents(f.ctx, f.operator, parcelID))(f.t) {
		out = append(out, e.Kind)
	}
	return out
}

func countKind(kinds []parcelguard.EventKind, k parcelguard.EventKind) int {
	n := 0
	for _, x := range kinds {
		if x == k {
			n++
		}
	}
	return n
}

func (f *fixture) messages(parcelID string, kind parcelguard.MessageKind) []*parcelguard.Message {
	f.t.Helper()
	var out []*parcelguard.Message
	err := f.db.View(f.ctx, func(tx parcelguard.Tx) (err error) {
		out, err = tx.Messages(f.ctx, parcelguard.MessageFilter{ParcelID: parcelID, Kind: kind})
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func TestDoorstepDelivery(t *testing.T) {
	// Ensure the policy decides at announcement, the password is issued on
	// the day until the end of the date in the recipient's zone, sent by
	// e-mail and SMS, shown on the tracking page, and verifies once with
	// a proof naming the recipient, the courier and the place.
	t.Run("OK", func(t *testing.T) {
		f := newFixture(t)
		x := f.doorstep("DS-1001", true)
		if x.Doorstep.PasswordReason != parcelguard.ReasonFlag || x.Parcel.Mode != parcelguard.HandoverDoorstep {
			t.Fatalf("announced %+v %+v", x.Parcel, x.Doorstep)
		}
		out := must(f.svc.OutForDelivery(f.ctx, f.courier, x.Parcel.ID, 7))(t)
		if out.Parcel.State != parcelguard.ParcelOutForDelivery || out.Doorstep.Date.String() != "2026-11-23" || out.Doorstep.RouteSeq != 7 {
			t.Fatalf("out for delivery: %+v %+v", out.Parcel, out.Doorstep)
		}
		tr := must(f.svc.TrackDoorstep(f.ctx, f.recipient(x.Parcel.ID)))(t)
		if want := time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC); !tr.PasswordExpiresAt.Equal(want) || len(tr.Password) != 6 {
			t.Fatalf("password expires %v (want %v), %d digits", tr.PasswordExpiresAt, want, len(tr.Password))
		}
		msgs := f.messages(x.Parcel.ID, parcelguard.MessageDoorstepPassword)
		if len(msgs) != 2 {
			t.Fatalf("%d password messages, want e-mail and SMS", len(msgs))
		}
		code, _, err := f.svc.DoorstepCode(f.ctx, msgs[0].GrantID)
		if err != nil || code != tr.Password {
			t.Fatalf("message code %q, %v; page shows %q", code, err, tr.Password)
		}
		for _, m := range msgs {
			for k, v := range m.Data {
				if v == tr.Password {
					t.Fatalf("outbox data %s holds the password", k)
				}
			}
		}
		proof := must(f.svc.VerifyDoorstep(f.ctx, f.courier, x.Parcel.ID, tr.Password, door))(t)
		if proof.Holder != parcelguard.HolderRecipient || proof.Courier != f.courier.Actor() || proof.DistanceM > 1 || !proof.At.Equal(f.clock.Now()) {
			t.Fatalf("proof %+v", proof)
		}
		if s := f.parcel(x.Parcel.ID).State; s != parcelguard.ParcelDelivered {
			t.Fatalf("state %s", s)
		}
		_, err = f.svc.VerifyDoorstep(f.ctx, f.courier, x.Parcel.ID, tr.Password, door)
		if !errors.Is(err, parcelguard.ErrIllegalTransition) {
			t.Fatalf("second verify: %v", err)
		}
		got := must(f.svc.DoorstepParcel(f.ctx, f.carrierP, x.Parcel.ID))(t)
		if got.Proof == nil || got.Proof.PasswordID != proof.PasswordID {
			t.Fatalf("stored proof %+v", got.Proof)
		}
		kinds := f.eventKinds(x.Parcel.ID)
		if countKind(kinds, parcelguard.EventDoorstepDelivered) != 1 || countKind(kinds, parcelguard.EventDoorstepOutForDelivery) != 1 {
			t.Fatalf("events %v", kinds)
		}
	})

	// Ensure a shipment the policy does not mark is delivered without a
	// password, and a carrier's threshold applies to later shipments.
	t.Run("NoPassword", func(t *testing.T) {
		f := newFixture(t)
		x := f.doorstep("DS-1002", false)
		if x.Doorstep.NeedsPassword() {
			t.Fatalf("reason %q", x.Doorstep.PasswordReason)
		}
		must(f.svc.OutForDelivery(f.ctx, f.courier, x.Parcel.ID, 0))(t)
		if n := len(f.messages(x.Parcel.ID, parcelguard.MessageDoorstepPassword)); n != 0 {
			t.Fatalf("%d password messages", n)
		}
		proof := must(f.svc.VerifyDoorstep(f.ctx, f.courier, x.Parcel.ID, "", door))(t)
		if proof.Holder != "" {
			t.Fatalf("proof %+v", proof)
		}
		pol := parcelguard.DefaultDoorstepPolicy(f.carrier.ID)
		pol.ValueThreshold, pol.Currency = 100000, "EUR"
		must(f.svc.SetDoorstepPolicy(f.ctx, f.carrierP, *pol))(t)
		if y := f.doorstep("DS-1003", false); y.Doorstep.PasswordReason != parcelguard.ReasonValue {
			t.Fatalf("reason %q after threshold", y.Doorstep.PasswordReason)
		}
	})

	// Ensure a verification away from the address is refused and audited
	// without costing a try.
	t.Run("ErrCourierAway", func(t *testing.T) {
		f := newFixture(t)
		x := f.doorstep("DS-1004", true)
		must(f.svc.OutForDelivery(f.ctx, f.courier, x.Parcel.ID, 0))(t)
		pw := f.password(x.Parcel.ID)
		_, err := f.svc.VerifyDoorstep(f.ctx, f.courier, x.Parcel.ID, pw, service.Position{Lat: 48.2, Lon: 11.6})
		if !errors.Is(err, service.ErrCourierAway) {
			t.Fatalf("err %v", err)
		}
		if countKind(f.eventKinds(x.Parcel.ID), parcelguard.EventDoorstepPositionFar) != 1 {
			t.Fatal("no position event")
		}
		must(f.svc.VerifyDoorstep(f.ctx, f.courier, x.Parcel.ID, pw, door))(t)
	})

	// Ensure another carrier's courier cannot see or verify the parcel.
	t.Run("ErrNotFound", func(t *testing.T) {
		f := newFixture(t)
		x := f.doorstep("DS-1005", true)
		must(f.svc.OutForDelivery(f.ctx, f.courier, x.Parcel.ID, 0))(t)
		stranger := parcelguard.Principal{Role: parcelguard.RoleCourier, KeyPrefix: "pgk_x", CarrierID: "car_other"}
		if _, err := f.svc.VerifyDoorstep(f.ctx, stranger, x.Parcel.ID, f.password(x.Parcel.ID), door); !errors.Is(err, parcelguard.ErrNotFound) {
			t.Fatalf("err %v", err)
		}
		if _, err := f.svc.VerifyDoorstep(f.ctx, f.kiosk, x.Parcel.ID, "123456", door); !errors.Is(err, parcelguard.ErrForbidden) {
			t.Fatalf("kiosk err %v", err)
		}
	})
}

func TestDoorstepLockout(t *testing.T) {
	// Ensure four wrong passwords are rejected, the fifth disables the
	// day's passwords (the right one too), fails the attempt as
	// wrong_password, reschedules to the next working day and tells the
	// recipient in a password-disabled message; the next day brings a new password that works.
	f := newFixture(t)
	x := f.doorstep("DS-2001", true)
	must(f.svc.OutForDelivery(f.ctx, f.courier, x.Parcel.ID, 0))(t)
	pw := f.password(x.Parcel.ID)
	for i := 1; i < parcelguard.MaxDoorstepPasswordFailures; i++ {
		if _, err := f.svc.VerifyDoorstep(f.ctx, f.courier, x.Parcel.ID, other(pw), door); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("try %d: %v", i, err)
		}
	}
	if _, err := f.svc.VerifyDoorstep(f.ctx, f.courier, x.Parcel.ID, other(pw), door); !errors.Is(err, parcelguard.ErrCodeLocked) {
		t.Fatalf("fifth try: %v", err)
	}
	if _, err := f.svc.VerifyDoorstep(f.ctx, f.courier, x.Parcel.ID, pw, door); err == nil {
		t.Fatal("the right password works after the lockout")
	}
	got := must(f.svc.DoorstepParcel(f.ctx, f.operator, x.Parcel.ID))(t)
	if got.Parcel.State != parcelguard.ParcelRescheduled || got.Doorstep.LastReason != parcelguard.ReasonWrongPassword ||
		got.Doorstep.Date.String() != "2026-11-24" || got.Doorstep.Attempts != 1 {
		t.Fatalf("after lockout: %+v %+v", got.Parcel, got.Doorstep)
	}
	kinds := f.eventKinds(x.Parcel.ID)
	if countKind(kinds, parcelguard.EventDoorstepLocked) != 1 || countKind(kinds, parcelguard.EventDoorstepVerifyFailed) != 5 {
		t.Fatalf("events %v", kinds)
	}
	if n := len(f.messages(x.Parcel.ID, parcelguard.MessageDoorstepPasswordDisabled)); n != 2 {
		t.Fatalf("%d password-disabled messages", n)
	}
	if n := len(f.messages(x.Parcel.ID, parcelguard.MessageAttemptFailed)); n != 0 {
		t.Fatalf("%d attempt-failed messages beside the lockout's own", n)
	}
	if tr := must(f.svc.TrackDoorstep(f.ctx, f.recipient(x.Parcel.ID)))(t); tr.Password != "" {
		t.Fatal("a disabled password is still shown")
	}
	// The redelivery timer fires at the start of 24 November in Berlin.
	f.clock.Set(time.Date(2026, 11, 23, 22, 59, 0, 0, time.UTC))
	if n := must(f.svc.FireDueTimers(f.ctx))(t); n != 0 {
		t.Fatalf("%d timers fired before midnight", n)
	}
	f.clock.Set(time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC))
	if n := must(f.svc.FireDueTimers(f.ctx))(t); n != 1 {
		t.Fatalf("%d timers fired at midnight", n)
	}
	pw2 := f.password(x.Parcel.ID)
	if n := len(f.messages(x.Parcel.ID, parcelguard.MessageDoorstepPassword)); n != 4 {
		t.Fatalf("%d password messages over two days", n)
	}
	f.clock.Advance(9 * time.Hour)
	proof := must(f.svc.VerifyDoorstep(f.ctx, f.courier, x.Parcel.ID, pw2, door))(t)
	if proof.Holder != parcelguard.HolderRecipient {
		t.Fatalf("proof %+v", proof)
	}
}

func TestDoorstepDelegate(t *testing.T) {
	// Ensure a delegate password verifies with a proof naming the
	// delegate, while the recipient's still exists.
	t.Run("OK", func(t *testing.T) {
		f := newFixture(t)
		x := f.doorstep("DS-3001", true)
		must(f.svc.OutForDelivery(f.ctx, f.courier, x.Parcel.ID, 0))(t)
		a := f.recipient(x.Parcel.ID)
		dv := must(f.svc.CreateDoorstepDelegate(f.ctx, a, service.DelegateInput{Name: "Charles Babbage", Phone: "+4917000000001"}))(t)
		if len(dv.Code) != 6 || dv.Name != "Charles Babbage" {
			t.Fatalf("delegate %+v", dv)
		}
		if n := len(f.messages(x.Parcel.ID, parcelguard.MessageDoorstepDelegate)); n != 1 {
			t.Fatalf("%d delegate messages", n)
		}
		proof := must(f.svc.VerifyDoorstep(f.ctx, f.courier, x.Parcel.ID, dv.Code, door))(t)
		if proof.Holder != parcelguard.HolderDelegate || proof.DelegateName != "Charles Babbage" || proof.PasswordID != dv.ID {
			t.Fatalf("proof %+v", proof)
		}
	})

	// Ensure a revoked delegate password no longer verifies (and counts
	// as a wrong one), a new delegate replaces the old, and the
	// recipient's password still works.
	t.Run("Revoked", func(t *testing.T) {
		f := newFixture(t)
		x := f.doorstep("DS-3002", true)
		must(f.svc.OutForDelivery(f.ctx, f.courier, x.Parcel.ID, 0))(t)
		a := f.recipient(x.Parcel.ID)
		first := must(f.svc.CreateDoorstepDelegate(f.ctx, a, service.DelegateInput{Name: "Charles Babbage"}))(t)
		must(f.svc.RevokeDoorstepDelegate(f.ctx, a, first.ID))(t)
		if _, err := f.svc.VerifyDoorstep(f.ctx, f.courier, x.Parcel.ID, first.Code, door); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("revoked delegate: %v", err)
		}
		if _, err := f.svc.RevokeDoorstepDelegate(f.ctx, a, first.ID); parcelguard.ErrorCode(err) != parcelguard.ECONFLICT {
			t.Fatalf("second revoke: %v", err)
		}
		second := must(f.svc.CreateDoorstepDelegate(f.ctx, a, service.DelegateInput{Name: "Mary Somerville"}))(t)
		third := must(f.svc.CreateDoorstepDelegate(f.ctx, a, service.DelegateInput{Name: "Grace Hopper"}))(t)
		if second.Code != third.Code {
			if _, err := f.svc.VerifyDoorstep(f.ctx, f.courier, x.Parcel.ID, second.Code, door); !errors.Is(err, parcelguard.ErrCodeRejected) {
				t.Fatalf("replaced delegate: %v", err)
			}
		}
		tr := must(f.svc.TrackDoorstep(f.ctx, a))(t)
		if len(tr.Delegates) != 3 {
			t.Fatalf("delegates %+v", tr.Delegates)
		}
		for _, dv := range tr.Delegates {
			if (dv.Name == "Grace Hopper") != (dv.Code == third.Code && dv.State == parcelguard.GrantActive) ||
				dv.Name != "Grace Hopper" && (dv.Code != "" || dv.State != parcelguard.GrantRevoked) {
				t.Fatalf("delegate %+v", dv)
			}
		}
		// Another parcel's link cannot revoke this parcel's delegate.
		y := f.doorstep("DS-3003", true)
		if _, err := f.svc.RevokeDoorstepDelegate(f.ctx, f.recipient(y.Parcel.ID), third.ID); !errors.Is(err, parcelguard.ErrNotFound) {
			t.Fatalf("foreign revoke: %v", err)
		}
		proof := must(f.svc.VerifyDoorstep(f.ctx, f.courier, x.Parcel.ID, tr.Password, door))(t)
		if proof.Holder != parcelguard.HolderRecipient {
			t.Fatalf("proof %+v", proof)
		}
		kinds := f.eventKinds(x.Parcel.ID)
		if countKind(kinds, parcelguard.EventDoorstepDelegated) != 3 || countKind(kinds, parcelguard.EventDoorstepDelegateRevoke) != 1 {
			t.Fatalf("events %v", kinds)
		}
	})
}

func TestDoorstepAttempts(t *testing.T) {
	// Ensure failed attempts reschedule over a weekend and holidays, and
	// the third redirects to the nearest locker with a fitting free
	// compartment, where the deposit issues the pickup grant and notice.
	t.Run("RedirectToLocker", func(t *testing.T) {
		f := newFixture(t, parcelguard.SizeS)
		// Thursday 24 December 2026, Berlin.
		f.clock.Set(time.Date(2026, 12, 24, 8, 0, 0, 0, time.UTC))
		x := f.doorstep("DS-4001", true)
		wantDates := []string{"2026-12-28", "2026-12-29"} // 24 Dec → 28 Dec: Christmas, Boxing Day, Sunday
		must(f.svc.OutForDelivery(f.ctx, f.courier, x.Parcel.ID, 0))(t)
		for i, reason := range []parcelguard.AttemptReason{parcelguard.ReasonNotAtHome, parcelguard.ReasonRefused} {
			got := must(f.svc.FailAttempt(f.ctx, f.courier, x.Parcel.ID, reason, door))(t)
			if got.Parcel.State != parcelguard.ParcelRescheduled || got.Doorstep.Date.String() != wantDates[i] {
				t.Fatalf("attempt %d: %s on %s, want rescheduled to %s", i+1, got.Parcel.State, got.Doorstep.Date, wantDates[i])
			}
			if _, err := f.svc.OutForDelivery(f.ctx, f.courier, x.Parcel.ID, 0); parcelguard.ErrorCode(err) != parcelguard.ECONFLICT {
				t.Fatalf("sent out before the new date: %v", err)
			}
			d, _ := parcelguard.ParseDeliveryDate(wantDates[i])
			start, _ := d.StartIn(got.Doorstep.Location())
			f.clock.Set(start.Add(8 * time.Hour))
			must(f.svc.FireDueTimers(f.ctx))(t)
			if s := f.parcel(x.Parcel.ID).State; s != parcelguard.ParcelOutForDelivery {
				t.Fatalf("after the timer: %s", s)
			}
		}
		got := must(f.svc.FailAttempt(f.ctx, f.courier, x.Parcel.ID, parcelguard.ReasonNotAccessible, door))(t)
		if got.Parcel.State != parcelguard.ParcelRedirectedToLocker || got.Parcel.SiteID != f.site.ID || got.Parcel.CompartmentID == "" {
			t.Fatalf("after the last attempt: %+v", got.Parcel)
		}
		if n := len(f.messages(x.Parcel.ID, parcelguard.MessageDoorstepRedirected)); n != 2 {
			t.Fatalf("%d redirect notices", n)
		}
		dep := must(f.svc.Deposit(f.ctx, f.courier, x.Parcel.ID))(t)
		if dep.State != parcelguard.ParcelDeposited {
			t.Fatalf("deposit: %s", dep.State)
		}
		if _, g, err := f.svc.PickupCode(f.ctx, x.Parcel.ID); err != nil || g.SiteID != f.site.ID {
			t.Fatalf("pickup grant: %v", err)
		}
		if n := len(f.messages(x.Parcel.ID, parcelguard.MessageDeposit)); n != 2 {
			t.Fatalf("%d pickup notices", n)
		}
	})

	// Ensure a carrier that returns parcels gets them returned after its
	// last attempt, and a locker fallback without room returns too.
	t.Run("Return", func(t *testing.T) {
		f := newFixture(t) // a locker without compartments
		pol := parcelguard.DefaultDoorstepPolicy(f.carrier.ID)
		pol.MaxAttempts = 1
		must(f.svc.SetDoorstepPolicy(f.ctx, f.operator, *pol))(t)
		x := f.doorstep("DS-4002", true)
		must(f.svc.OutForDelivery(f.ctx, f.courier, x.Parcel.ID, 0))(t)
		got := must(f.svc.FailAttempt(f.ctx, f.courier, x.Parcel.ID, parcelguard.ReasonNotAtHome, door))(t)
		if got.Parcel.State != parcelguard.ParcelReturned {
			t.Fatalf("state %s", got.Parcel.State)
		}
		if n := len(f.messages(x.Parcel.ID, parcelguard.MessageDoorstepReturned)); n != 2 {
			t.Fatalf("%d return notices", n)
		}
	})

	// Ensure bad reasons and positions are refused without a change.
	t.Run("ErrInvalid", func(t *testing.T) {
		f := newFixture(t)
		x := f.doorstep("DS-4003", true)
		must(f.svc.OutForDelivery(f.ctx, f.courier, x.Parcel.ID, 0))(t)
		if _, err := f.svc.FailAttempt(f.ctx, f.courier, x.Parcel.ID, "dog_bit_courier", door); parcelguard.ErrorCode(err) != parcelguard.EINVALID {
			t.Fatalf("reason: %v", err)
		}
		if _, err := f.svc.FailAttempt(f.ctx, f.courier, x.Parcel.ID, parcelguard.ReasonRefused, service.Position{Lat: 91}); parcelguard.ErrorCode(err) != parcelguard.EINVALID {
			t.Fatalf("position: %v", err)
		}
		if s := f.parcel(x.Parcel.ID).State; s != parcelguard.ParcelOutForDelivery {
			t.Fatalf("state %s", s)
		}
	})
}

func TestDoorstepOffline(t *testing.T) {
	// Ensure an offline record with the right password, place and time
	// delivers the parcel with an offline proof; one with a wrong password
	// or place is a mismatch, raises an operator alarm and is listed.
	f := newFixture(t)
	x := f.doorstep("DS-5001", true)
	y := f.doorstep("DS-5002", true)
	must(f.svc.OutForDelivery(f.ctx, f.courier, x.Parcel.ID, 0))(t)
	must(f.svc.OutForDelivery(f.ctx, f.courier, y.Parcel.ID, 0))(t)
	pw := f.password(x.Parcel.ID)
	at := f.clock.Now().Add(30 * time.Minute)
	f.clock.Advance(2 * time.Hour) // the app syncs later
	ok := must(f.svc.SubmitOffline(f.ctx, f.courier, x.Parcel.ID, service.OfflineInput{Password: pw, Position: door, RecordedAt: at}))(t)
	if ok.State != parcelguard.OfflineVerified {
		t.Fatalf("entry %+v", ok)
	}
	got := must(f.svc.DoorstepParcel(f.ctx, f.operator, x.Parcel.ID))(t)
	if got.Parcel.State != parcelguard.ParcelDelivered || !got.Proof.Offline || !got.Proof.RecordedAt.Equal(at) {
		t.Fatalf("after sync: %+v %+v", got.Parcel, got.Proof)
	}
	bad := must(f.svc.SubmitOffline(f.ctx, f.courier, y.Parcel.ID, service.OfflineInput{Password: other(f.password(y.Parcel.ID)),
		Position: service.Position{Lat: 48.3, Lon: 11.7}, RecordedAt: at}))(t)
	if bad.State != parcelguard.OfflineMismatch || len(bad.Problems) != 2 {
		t.Fatalf("entry %+v", bad)
	}
	if s := f.parcel(y.Parcel.ID).State; s != parcelguard.ParcelOutForDelivery {
		t.Fatalf("state %s", s)
	}
	if countKind(f.eventKinds(y.Parcel.ID), parcelguard.EventAlarmOfflineMismatch) != 1 {
		t.Fatal("no operator alarm")
	}
	list := must(f.svc.OfflineEntries(f.ctx, f.operator, parcelguard.OfflineFilter{State: parcelguard.OfflineMismatch}))(t)
	if len(list) != 1 || list[0].ID != bad.ID {
		t.Fatalf("mismatch list %+v", list)
	}
	if _, err := f.svc.OfflineEntries(f.ctx, f.courier, parcelguard.OfflineFilter{}); !errors.Is(err, parcelguard.ErrForbidden) {
		t.Fatalf("courier listing: %v", err)
	}
}

func TestDoorstepManifest(t *testing.T) {
	// Ensure the manifest lists the carrier's deliveries of the day in
	// route order, leaving out delivered ones and other days.
	f := newFixture(t)
	var ids []string
	for i, seq := range []int{3, 1, 2} {
		x := f.doorstep("DS-600"+string(rune('1'+i)), true)
		must(f.svc.OutForDelivery(f.ctx, f.courier, x.Parcel.ID, seq))(t)
		ids = append(ids, x.Parcel.ID)
	}
	must(f.svc.VerifyDoorstep(f.ctx, f.courier, ids[2], f.password(ids[2]), door))(t)
	day, _ := parcelguard.ParseDeliveryDate("2026-11-23")
	stops := must(f.svc.DoorstepManifest(f.ctx, f.courier, day))(t)
	if len(stops) != 2 || stops[0].Parcel.ID != ids[1] || stops[1].Parcel.ID != ids[0] {
		t.Fatalf("manifest %+v", stops)
	}
	if stops := must(f.svc.DoorstepManifest(f.ctx, f.courier, day.AddDays(1)))(t); len(stops) != 0 {
		t.Fatalf("next day %+v", stops)
	}
}

func TestDoorstepManifestToday(t *testing.T) {
	// Ensure a courier's day is the date where each delivery is, not in
	// UTC: at 23:30 UTC on the 23rd it is already the 24th in Berlin and
	// still the 23rd in New York, so both rounds are today's, while a
	// Berlin delivery announced for the 25th is not.
	f := newFixture(t)
	f.clock.Set(time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC))
	announce := func(tracking, zone, country string, date parcelguard.DeliveryDate) string {
		t.Helper()
		x := must(f.svc.AnnounceDoorstep(f.ctx, f.carrierP, service.DoorstepAnnouncement{
			Parcel: parcelguard.Parcel{TrackingNumber: tracking, Size: parcelguard.SizeS,
				Recipient: parcelguard.Recipient{Name: "Ada Lovelace", Phone: "+4915112345678", Language: "en"}},
			Address: "1 Main Street", Lat: door.Lat, Lon: door.Lon, TimeZone: zone, Country: country, Date: date, PasswordFlag: true}))(t)
		return x.Parcel.ID
	}
	berlin := announce("DS-7001", "Europe/Berlin", "DE", parcelguard.DeliveryDate{})
	newYork := announce("DS-7002", "America/New_York", "US", parcelguard.DeliveryDate{})
	later := announce("DS-7003", "Europe/Berlin", "DE", parcelguard.DeliveryDate{Year: 2026, Month: 11, Day: 25})
	for _, id := range []string{berlin, newYork} {
		must(f.svc.OutForDelivery(f.ctx, f.courier, id, 0))(t)
	}
	ids := func(stops []service.DoorstepStop) []string {
		var out []string
		for _, st := range stops {
			out = append(out, st.Parcel.ID)
		}
		slices.Sort(out)
		return out
	}
	want := []string{berlin, newYork}
	slices.Sort(want)
	m := must(f.svc.CourierManifest(f.ctx, f.courier))(t)
	if got := ids(m.Doorstep); !slices.Equal(got, want) {
		t.Errorf("courier's today %v, want %v (not %s)", got, want, later)
	}
	if got := ids(must(f.svc.DoorstepManifest(f.ctx, f.courier, parcelguard.DeliveryDate{}))(t)); !slices.Equal(got, want) {
		t.Errorf("manifest without a date %v, want %v", got, want)
	}
	// A day asked for by date is that date, in every zone.
	day := parcelguard.DeliveryDate{Year: 2026, Month: 11, Day: 24}
	if got := ids(must(f.svc.DoorstepManifest(f.ctx, f.courier, day))(t)); !slices.Equal(got, []string{berlin}) {
		t.Errorf("manifest of %s: %v, want only %s", day, got, berlin)
	}
}
