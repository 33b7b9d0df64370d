package service_test

import (
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Ensure a parcel still out for delivery when its delivery date ends in
// the recipient's zone is recorded as a failed attempt (not_delivered)
// exactly at that instant — a 23- or 25-hour day across a DST change
// included — and is rescheduled to the next working day, where it goes
// out again with a new password.
func TestDoorstepDayEnd(t *testing.T) {
	tests := []struct {
		name, zone, country string
		day                 time.Time // 09:00 local on the delivery date
		end                 time.Time // the date's end, UTC
		next                string
	}{
		// Sunday 29 March 2026: clocks go forward, a 23-hour day.
		{"BerlinSpringForward", "Europe/Berlin", "DE", localTime(t, "Europe/Berlin", 2026, 3, 29, 9),
			time.Date(2026, 3, 29, 22, 0, 0, 0, time.UTC), "2026-03-30"},
		// Sunday 25 October 2026: clocks go back, a 25-hour day.
		{"BerlinFallBack", "Europe/Berlin", "DE", localTime(t, "Europe/Berlin", 2026, 10, 25, 9),
			time.Date(2026, 10, 25, 23, 0, 0, 0, time.UTC), "2026-10-26"},
		// Sunday 8 March 2026 in New York: 23 hours.
		{"NewYorkSpringForward", "America/New_York", "US", localTime(t, "America/New_York", 2026, 3, 8, 9),
			time.Date(2026, 3, 9, 4, 0, 0, 0, time.UTC), "2026-03-09"},
		// Sunday 1 November 2026 in New York: 25 hours.
		{"NewYorkFallBack", "America/New_York", "US", localTime(t, "America/New_York", 2026, 11, 1, 9),
			time.Date(2026, 11, 2, 5, 0, 0, 0, time.UTC), "2026-11-02"},
		// Friday 3 April 2026 in Warsaw: the weekend and Easter Monday
		// are not working days in Poland.
		{"WarsawBeforeEaster", "Europe/Warsaw", "PL", localTime(t, "Europe/Warsaw", 2026, 4, 3, 9),
			time.Date(2026, 4, 3, 22, 0, 0, 0, time.UTC), "2026-04-07"},
	}
	doorstepEngines(t, nil, func(t *testing.T, e *dsEnv) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.t = t
				e.clock.Set(tt.day)
				x := e.announce("DE-10"+string(rune('0'+i)), tt.zone, tt.country)
				id := x.Parcel.ID
				must(e.svc.OutForDelivery(e.ctx, e.courier, id, 0))(t)
				first := e.tracking(id)
				if !first.PasswordExpiresAt.Equal(tt.end) {
					t.Fatalf("password expires %v, want %v", first.PasswordExpiresAt, tt.end)
				}

				// A second before the end nothing happens.
				e.clock.Set(tt.end.Add(-time.Second))
				if n := e.fire(); n != 0 {
					t.Fatalf("%d timers fired before the end of the day", n)
				}
				if got := e.get(id); got.Parcel.State != parcelguard.ParcelOutForDelivery || got.Doorstep.Attempts != 0 {
					t.Fatalf("before the end: %s, %d attempts", got.Parcel.State, got.Doorstep.Attempts)
				}

				// At the end the attempt fails as not_delivered.
				e.clock.Set(tt.end)
				if n := e.fire(); n != 1 {
					t.Fatalf("%d timers fired at the end of the day", n)
				}
				got := e.get(id)
				if got.Parcel.State != parcelguard.ParcelRescheduled || got.Doorstep.Attempts != 1 ||
					got.Doorstep.LastReason != parcelguard.ReasonNotDelivered || got.Doorstep.Date.String() != tt.next {
					t.Fatalf("after the end: %s, %d attempts, reason %q, next %s (want %s)", got.Parcel.State,
						got.Doorstep.Attempts, got.Doorstep.LastReason, got.Doorstep.Date, tt.next)
				}
				var failed *parcelguard.Event
				for _, ev := range e.events(id) {
					if ev.Kind == parcelguard.EventDoorstepAttemptFailed {
						failed = ev
					}
				}
				if failed == nil || failed.Data["reason"] != "not_delivered" || failed.Actor != "system" ||
					failed.Data["date"] != tt.day.Format(time.DateOnly) {
					t.Fatalf("attempt event %+v", failed)
				}
				if n := len(e.messages(id, parcelguard.MessageAttemptFailed)); n != 2 {
					t.Fatalf("%d attempt-failed messages, want e-mail and SMS", n)
				}
				if tr := e.tracking(id); tr.Password != "" {
					t.Fatal("the ended day's password is still shown")
				}

				// The next working day it goes out again with a new password.
				nextDay, _ := parcelguard.ParseDeliveryDate(tt.next)
				start, err := nextDay.StartIn(got.Doorstep.Location())
				if err != nil {
					t.Fatal(err)
				}
				e.clock.Set(start)
				e.fire()
				tr := e.tracking(id)
				if s := e.get(id).Parcel.State; s != parcelguard.ParcelOutForDelivery || tr.Password == "" ||
					!tr.PasswordExpiresAt.After(start) {
					t.Fatalf("next day: %s, password expires %v", s, tr.PasswordExpiresAt)
				}
				// Delivered, it leaves no timer behind for the next case.
				must(e.svc.VerifyDoorstep(e.ctx, e.courier, id, tr.Password, door))(t)
			})
		}
	})
}

// Ensure the end-of-day timer counts toward the attempt limit: a parcel
// nobody attempts runs out of attempts on its own and is returned (or
// redirected to a locker), so none stays out for delivery for ever; and
// that a delivered parcel or one whose attempt the courier recorded is
// left alone when its day ends.
func TestDoorstepDayEndLimit(t *testing.T) {
	doorstepEngines(t, []parcelguard.SizeClass{parcelguard.SizeS, parcelguard.SizeS}, func(t *testing.T, e *dsEnv) {
		e.setPolicy(2, parcelguard.FallbackLocker)
		// Friday 27 November 2026, Berlin.
		e.clock.Set(localTime(t, "Europe/Berlin", 2026, 11, 27, 9))
		idle := e.announce("DL-2001", "Europe/Berlin", "DE").Parcel.ID
		failed := e.announce("DL-2002", "Europe/Berlin", "DE").Parcel.ID
		done := e.announce("DL-2003", "Europe/Berlin", "DE").Parcel.ID
		for _, id := range []string{idle, failed, done} {
			must(e.svc.OutForDelivery(e.ctx, e.courier, id, 0))(t)
		}
		must(e.svc.FailAttempt(e.ctx, e.courier, failed, parcelguard.ReasonNotAtHome, door))(t)
		must(e.svc.VerifyDoorstep(e.ctx, e.courier, done, e.tracking(done).Password, door))(t)

		// Walk the clock an hour at a time for ten days, as a running
		// scheduler would.
		for range 240 {
			e.clock.Advance(time.Hour)
			e.fire()
		}
		got := e.get(idle)
		if got.Parcel.State != parcelguard.ParcelRedirectedToLocker || got.Doorstep.Attempts != 2 ||
			got.Doorstep.LastReason != parcelguard.ReasonNotDelivered || got.Parcel.SiteID != e.site.ID {
			t.Fatalf("unattempted parcel: %s after %d attempts (%s)", got.Parcel.State, got.Doorstep.Attempts, got.Doorstep.LastReason)
		}
		// Fri 27 Nov not delivered → Mon 30 Nov (weekend), not delivered → locker.
		attempts := map[string]bool{}
		for _, ev := range e.events(idle) {
			if ev.Kind == parcelguard.EventDoorstepAttemptFailed {
				attempts[ev.Data["date"]] = true
			}
		}
		if len(attempts) != 2 || !attempts["2026-11-27"] || !attempts["2026-11-30"] {
			t.Fatalf("failed attempts on %v", attempts)
		}
		// The courier's attempt on Friday counted once, not again at
		// midnight; the parcel went out on Monday and then ran out.
		f := e.get(failed)
		if f.Doorstep.Attempts != 2 || f.Parcel.State != parcelguard.ParcelReturned && f.Parcel.State != parcelguard.ParcelRedirectedToLocker {
			t.Fatalf("courier-failed parcel: %s after %d attempts", f.Parcel.State, f.Doorstep.Attempts)
		}
		var firstReason parcelguard.AttemptReason
		for _, ev := range e.events(failed) {
			if ev.Kind == parcelguard.EventDoorstepAttemptFailed && firstReason == "" {
				firstReason = parcelguard.AttemptReason(ev.Data["reason"])
			}
		}
		if firstReason != parcelguard.ReasonNotAtHome {
			t.Fatalf("first attempt of the courier-failed parcel: %q", firstReason)
		}
		if d := e.get(done); d.Parcel.State != parcelguard.ParcelDelivered || d.Doorstep.Attempts != 0 {
			t.Fatalf("delivered parcel: %s, %d attempts", d.Parcel.State, d.Doorstep.Attempts)
		}
	})
}
