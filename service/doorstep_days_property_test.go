package service_test

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// fewerChecks lowers rapid's number of checks to at most n for the rest of
// t (the PostgreSQL run of a property, whose every step is several round
// trips), restoring the flag afterwards.
func fewerChecks(t *testing.T, n int) {
	f := flag.Lookup("rapid.checks")
	if f == nil {
		return
	}
	old := f.Value.String()
	if cur, err := strconv.Atoi(old); err != nil || cur <= n {
		return
	}
	if err := f.Value.Set(strconv.Itoa(n)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Value.Set(old) })
}

// Ensure the doorstep flow keeps its promises while the clock jumps
// across days and DST changes, with timers firing late as after an
// outage: failed attempts never exceed the carrier's limit; no parcel is
// out for delivery past the end of its delivery date; a rescheduled date
// is a working day; a password never verifies after its day (an old one
// is refused, and every proof's password was valid on its date at the
// proof's time); and a parcel has at most one delivery proof, exactly
// when delivered.
func TestDoorstepDaysProperty(t *testing.T) {
	zones := []struct{ zone, country string }{{"Europe/Berlin", "DE"}, {"America/New_York", "US"}, {"Europe/Warsaw", "PL"}}
	// Evenings before DST changes and a holiday, so days of 23 and 25
	// hours and skipped working days come up.
	starts := []time.Time{time.Date(2026, 3, 27, 20, 0, 0, 0, time.UTC), time.Date(2026, 10, 23, 20, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 6, 20, 0, 0, 0, time.UTC), time.Date(2026, 10, 30, 20, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 23, 20, 0, 0, 0, time.UTC)}
	reasons := []parcelguard.AttemptReason{parcelguard.ReasonNotAtHome, parcelguard.ReasonWrongPassword,
		parcelguard.ReasonRefused, parcelguard.ReasonNotAccessible}
	far := service.Position{Lat: door.Lat + 0.05, Lon: door.Lon}
	doorstepEngines(t, []parcelguard.SizeClass{parcelguard.SizeS}, func(t *testing.T, e *dsEnv) {
		if _, ok := e.store.(*sqlite.DB); !ok {
			fewerChecks(t, 15)
		}
		n := 0
		rapid.Check(t, func(rt *rapid.T) {
			n++
			z := rapid.SampledFrom(zones).Draw(rt, "zone")
			e.clock.Set(rapid.SampledFrom(starts).Draw(rt, "start").Add(time.Duration(rapid.IntRange(0, 48).Draw(rt, "offset_h")) * time.Hour))
			// A carrier of its own, so the policy applies to this parcel only.
			c := must(e.svc.CreateCarrier(e.ctx, admin, parcelguard.Carrier{Name: fmt.Sprintf("Carrier %d", n)}))(rt)
			carrierP := parcelguard.Principal{Role: parcelguard.RoleCarrier, KeyPrefix: "pgk_car", CarrierID: c.ID}
			courier := parcelguard.Principal{Role: parcelguard.RoleCourier, KeyPrefix: "pgk_cou", CarrierID: c.ID}
			pol := parcelguard.DefaultDoorstepPolicy(c.ID)
			pol.MaxAttempts = rapid.IntRange(1, 4).Draw(rt, "max_attempts")
			pol.Fallback = rapid.SampledFrom([]parcelguard.DoorstepFallback{parcelguard.FallbackLocker, parcelguard.FallbackReturn}).Draw(rt, "fallback")
			must(e.svc.SetDoorstepPolicy(e.ctx, e.operator, *pol))(rt)
			x := must(e.svc.AnnounceDoorstep(e.ctx, carrierP, service.DoorstepAnnouncement{
				Parcel: parcelguard.Parcel{TrackingNumber: fmt.Sprintf("DP-%d", n), Size: parcelguard.SizeS,
					Recipient: parcelguard.Recipient{Name: "R", Phone: "+4915112345678"}},
				Address: "A", Lat: door.Lat, Lon: door.Lon, TimeZone: z.zone, Country: z.country, PasswordFlag: true}))(rt)
			id := x.Parcel.ID
			tok := must(e.svc.RecipientLink(e.ctx, id))(rt)
			a := must(e.svc.AuthenticateRecipient(e.ctx, tok))(rt)
			loc := x.Doorstep.Location()

			seen := map[string]time.Time{} // every code shown, with its expiry
			look := func(rt *rapid.T) *service.DoorstepTracking {
				tr := must(e.svc.TrackDoorstep(e.ctx, a))(rt)
				if tr.Password != "" {
					seen[tr.Password] = tr.PasswordExpiresAt
				}
				for _, d := range tr.Delegates {
					if d.Code != "" {
						seen[d.Code] = d.ExpiresAt
					}
				}
				return tr
			}
			// settle fires due timers until none is left, as a scheduler
			// catching up after a pause would.
			settle := func(rt *rapid.T) {
				for range 10 {
					if must(e.svc.FireDueTimers(e.ctx))(rt) == 0 {
						return
					}
				}
				rt.Fatal("timers still firing after 10 passes")
			}
			var terminal parcelguard.ParcelState
			rt.Repeat(map[string]func(*rapid.T){
				"out": func(rt *rapid.T) { _, _ = e.svc.OutForDelivery(e.ctx, courier, id, 0) },
				"verifyRight": func(rt *rapid.T) {
					tr := look(rt)
					_, _ = e.svc.VerifyDoorstep(e.ctx, courier, id, tr.Password, door)
				},
				"verifyOld": func(rt *rapid.T) {
					tr := look(rt)
					current := map[string]bool{tr.Password: true}
					for _, d := range tr.Delegates {
						current[d.Code] = true
					}
					for code, exp := range seen {
						if e.clock.Now().Before(exp) || current[code] {
							continue
						}
						if _, err := e.svc.VerifyDoorstep(e.ctx, courier, id, code, door); err == nil {
							rt.Fatalf("a password that expired at %v verified at %v", exp, e.clock.Now())
						}
						return
					}
				},
				"verifyWrong": func(rt *rapid.T) {
					_, _ = e.svc.VerifyDoorstep(e.ctx, courier, id, rapid.StringMatching(`[0-9]{6}`).Draw(rt, "guess"), door)
				},
				"fail": func(rt *rapid.T) {
					_, _ = e.svc.FailAttempt(e.ctx, courier, id, rapid.SampledFrom(reasons).Draw(rt, "reason"), door)
				},
				"failFar": func(rt *rapid.T) {
					before := must(e.svc.DoorstepParcel(e.ctx, e.operator, id))(rt)
					_, err := e.svc.FailAttempt(e.ctx, courier, id, parcelguard.ReasonNotAtHome, far)
					after := must(e.svc.DoorstepParcel(e.ctx, e.operator, id))(rt)
					if err == nil || after.Doorstep.Attempts != before.Doorstep.Attempts {
						rt.Fatalf("a failed attempt 5 km away: %v, attempts %d → %d", err, before.Doorstep.Attempts, after.Doorstep.Attempts)
					}
				},
				"delegate": func(rt *rapid.T) {
					_, _ = e.svc.CreateDoorstepDelegate(e.ctx, a, service.DelegateInput{Name: "D"})
					look(rt)
				},
				"hours": func(rt *rapid.T) {
					e.clock.Advance(time.Duration(rapid.IntRange(1, 30).Draw(rt, "hours")) * time.Hour)
					settle(rt)
				},
				"days": func(rt *rapid.T) {
					// Timers fire late, all at once.
					e.clock.Advance(time.Duration(rapid.IntRange(24, 24*5).Draw(rt, "late_hours")) * time.Hour)
					settle(rt)
				},
				"": func(rt *rapid.T) {
					now := e.clock.Now()
					got := must(e.svc.DoorstepParcel(e.ctx, e.operator, id))(rt)
					st, d := got.Parcel.State, got.Doorstep
					if terminal != "" && st != terminal {
						rt.Fatalf("terminal %s moved to %s", terminal, st)
					}
					switch st {
					case parcelguard.ParcelDelivered, parcelguard.ParcelReturned, parcelguard.ParcelRedirectedToLocker:
						terminal = st
					}
					if d.Attempts > pol.MaxAttempts {
						rt.Fatalf("%d attempts, limit %d", d.Attempts, pol.MaxAttempts)
					}
					switch st {
					case parcelguard.ParcelOutForDelivery:
						end, err := d.Date.EndIn(loc)
						if err != nil || !now.Before(end) {
							rt.Fatalf("out for delivery at %v for %s, which ended at %v (%v)", now, d.Date, end, err)
						}
					case parcelguard.ParcelRescheduled:
						if !parcelguard.IsWorkingDay(d.Country, d.Date) || d.Date.Before(parcelguard.DeliveryDateOf(now, loc)) {
							rt.Fatalf("rescheduled to %s on %v", d.Date, now)
						}
					case parcelguard.ParcelReturned, parcelguard.ParcelRedirectedToLocker:
						if d.Attempts != pol.MaxAttempts {
							rt.Fatalf("%s after %d of %d attempts", st, d.Attempts, pol.MaxAttempts)
						}
					}
					delivered := 0
					for _, ev := range must(e.svc.ParcelEvents(e.ctx, e.operator, id))(rt) {
						if ev.Kind == parcelguard.EventDoorstepDelivered {
							delivered++
						}
					}
					if (st == parcelguard.ParcelDelivered) != (got.Proof != nil) || delivered > 1 || (delivered == 1) != (got.Proof != nil) {
						rt.Fatalf("state %s, proof %+v, %d delivery events", st, got.Proof, delivered)
					}
					if got.Proof == nil {
						return
					}
					var pw *parcelguard.DoorstepPassword
					err := e.store.View(e.ctx, func(tx parcelguard.Tx) (err error) {
						pw, err = tx.DoorstepPassword(e.ctx, got.Proof.PasswordID)
						return err
					})
					if err != nil {
						rt.Fatal(err)
					}
					at := got.Proof.At
					if pw.State != parcelguard.GrantUsed || at.Before(pw.NotBefore) || !at.Before(pw.ExpiresAt) ||
						parcelguard.DeliveryDateOf(at, loc) != pw.Date {
						rt.Fatalf("proof at %v by password %+v of %s, valid %v to %v", at, pw.State, pw.Date, pw.NotBefore, pw.ExpiresAt)
					}
					if _, err := e.svc.VerifyDoorstep(e.ctx, courier, id, "123456", door); !errors.Is(err, parcelguard.ErrIllegalTransition) {
						rt.Fatalf("a second handover: %v", err)
					}
				},
			})
		})
	})
}
