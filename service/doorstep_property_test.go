package service_test

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure random sequences of doorstep operations and clock jumps keep the
// doorstep invariants: the parcel is always in a doorstep state; at most
// one recipient password is active and only while out for delivery; a
// delivered parcel has exactly one proof and at most one used password,
// which the proof names; failed attempts never exceed the carrier's limit;
// a terminal state never changes; and every state change has its event.
func TestDoorstepInvariants(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS, parcelguard.SizeM)
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		x := must(f.svc.AnnounceDoorstep(f.ctx, f.carrierP, service.DoorstepAnnouncement{
			Parcel: parcelguard.Parcel{TrackingNumber: fmt.Sprintf("PR-%d", n), Size: parcelguard.SizeS,
				Recipient: parcelguard.Recipient{Name: "R", Phone: "+4915112345678"}},
			Address: "A", Lat: door.Lat, Lon: door.Lon, TimeZone: "Europe/Berlin", Country: "DE",
			PasswordFlag: rapid.Bool().Draw(rt, "password")}))(rt)
		id := x.Parcel.ID
		a := f.recipient(id)
		reasons := []parcelguard.AttemptReason{parcelguard.ReasonNotAtHome, parcelguard.ReasonWrongPassword,
			parcelguard.ReasonRefused, parcelguard.ReasonNotAccessible}
		var terminal parcelguard.ParcelState
		rt.Repeat(map[string]func(*rapid.T){
			"out": func(rt *rapid.T) { _, _ = f.svc.OutForDelivery(f.ctx, f.courier, id, 0) },
			"verifyRight": func(rt *rapid.T) {
				tr := must(f.svc.TrackDoorstep(f.ctx, a))(rt)
				_, _ = f.svc.VerifyDoorstep(f.ctx, f.courier, id, tr.Password, door)
			},
			"verifyWrong": func(rt *rapid.T) {
				_, _ = f.svc.VerifyDoorstep(f.ctx, f.courier, id, rapid.StringMatching(`[0-9]{6}`).Draw(rt, "guess"), door)
			},
			"verifyDelegate": func(rt *rapid.T) {
				tr := must(f.svc.TrackDoorstep(f.ctx, a))(rt)
				for _, d := range tr.Delegates {
					if d.Code != "" {
						_, _ = f.svc.VerifyDoorstep(f.ctx, f.courier, id, d.Code, door)
					}
				}
			},
			"fail": func(rt *rapid.T) {
				_, _ = f.svc.FailAttempt(f.ctx, f.courier, id, rapid.SampledFrom(reasons).Draw(rt, "reason"), door)
			},
			"delegate": func(rt *rapid.T) { _, _ = f.svc.CreateDoorstepDelegate(f.ctx, a, service.DelegateInput{Name: "D"}) },
			"revoke": func(rt *rapid.T) {
				tr := must(f.svc.TrackDoorstep(f.ctx, a))(rt)
				for _, d := range tr.Delegates {
					_, _ = f.svc.RevokeDoorstepDelegate(f.ctx, a, d.ID)
				}
			},
			"time": func(rt *rapid.T) {
				f.clock.Advance(time.Duration(rapid.IntRange(1, 36).Draw(rt, "hours")) * time.Hour)
				must(f.svc.FireDueTimers(f.ctx))(rt)
			},
			"": func(rt *rapid.T) {
				got := must(f.svc.DoorstepParcel(f.ctx, f.operator, id))(rt)
				st := got.Parcel.State
				if terminal != "" && st != terminal {
					rt.Fatalf("terminal %s moved to %s", terminal, st)
				}
				switch st {
				case parcelguard.ParcelDelivered, parcelguard.ParcelReturned, parcelguard.ParcelRedirectedToLocker:
					terminal = st
				}
				if !parcelguard.CanTransition(parcelguard.HandoverDoorstep, parcelguard.ParcelAnnounced, st) && st != parcelguard.ParcelAnnounced {
					found := false
					for _, s := range parcelguard.States(parcelguard.HandoverDoorstep) {
						found = found || s == st
					}
					if !found {
						rt.Fatalf("state %s is not a doorstep state", st)
					}
				}
				if got.Doorstep.Attempts > parcelguard.DefaultDoorstepAttempts {
					rt.Fatalf("%d attempts", got.Doorstep.Attempts)
				}
				var pws []*parcelguard.DoorstepPassword
				check := f.db.View(f.ctx, func(tx parcelguard.Tx) (err error) {
					pws, err = tx.DoorstepPasswords(f.ctx, id)
					return err
				})
				if check != nil {
					rt.Fatal(check)
				}
				active, used := 0, 0
				for _, pw := range pws {
					if pw.State == parcelguard.GrantActive && pw.Holder == parcelguard.HolderRecipient {
						active++
					}
					if pw.State == parcelguard.GrantUsed {
						used++
						if got.Proof == nil || got.Proof.PasswordID != pw.ID {
							rt.Fatalf("used password %s not named by the proof %+v", pw.ID, got.Proof)
						}
					}
					if pw.State == parcelguard.GrantActive && st != parcelguard.ParcelOutForDelivery && st != parcelguard.ParcelRescheduled {
						rt.Fatalf("active password in state %s", st)
					}
				}
				if active > 1 || active == 1 && st != parcelguard.ParcelOutForDelivery {
					rt.Fatalf("%d active recipient passwords in state %s", active, st)
				}
				if (st == parcelguard.ParcelDelivered) != (got.Proof != nil) || used > 1 {
					rt.Fatalf("state %s, proof %+v, %d used", st, got.Proof, used)
				}
				if got.Proof != nil && (got.Proof.Holder != "") != got.Doorstep.NeedsPassword() {
					rt.Fatalf("proof %+v for a delivery that needs a password: %v", got.Proof, got.Doorstep.NeedsPassword())
				}
				// The latest doorstep event names the current state.
				kinds := f.eventKinds(id)
				last := kinds[len(kinds)-1]
				want := map[parcelguard.ParcelState][]parcelguard.EventKind{
					parcelguard.ParcelAnnounced:          {parcelguard.EventParcelAnnounced},
					parcelguard.ParcelOutForDelivery:     {parcelguard.EventDoorstepOutForDelivery},
					parcelguard.ParcelDelivered:          {parcelguard.EventDoorstepDelivered},
					parcelguard.ParcelRescheduled:        {parcelguard.EventDoorstepRescheduled},
					parcelguard.ParcelRedirectedToLocker: {parcelguard.EventDoorstepRedirected},
					parcelguard.ParcelReturned:           {parcelguard.EventDoorstepReturned},
				}[st]
				ok := false
				for i := len(kinds) - 1; i >= 0 && !ok; i-- {
					switch kinds[i] {
					case parcelguard.EventParcelAnnounced, parcelguard.EventDoorstepOutForDelivery, parcelguard.EventDoorstepDelivered,
						parcelguard.EventDoorstepRescheduled, parcelguard.EventDoorstepRedirected, parcelguard.EventDoorstepReturned:
						for _, w := range want {
							ok = ok || kinds[i] == w
						}
						i = -1
					}
				}
				if !ok {
					rt.Fatalf("state %s but latest events %v (last %s)", st, kinds, last)
				}
			},
		})
	})
}
