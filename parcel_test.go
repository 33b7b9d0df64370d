package parcelguard_test

import (
	"errors"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// legal lists every allowed transition of both state machines; every other
// pair of states must be refused.
var legal = map[parcelguard.HandoverMode]map[[2]parcelguard.ParcelState]bool{
	parcelguard.HandoverLocker: {
		{"announced", "reserved"}: true, {"announced", "cancelled"}: true, {"announced", "redirected"}: true,
		{"reserved", "deposited"}: true, {"reserved", "cancelled"}: true, {"reserved", "redirected"}: true,
		{"redirected", "reserved"}: true, {"redirected", "cancelled"}: true,
		{"deposited", "picked_up"}: true, {"deposited", "expired"}: true,
		{"expired", "collected"}:  true,
		{"collected", "returned"}: true,
	},
	parcelguard.HandoverDoorstep: {
		{"announced", "out_for_delivery"}: true, {"announced", "cancelled"}: true,
		{"out_for_delivery", "delivered"}: true, {"out_for_delivery", "attempt_failed"}: true,
		{"attempt_failed", "rescheduled"}: true, {"attempt_failed", "redirected_to_locker"}: true, {"attempt_failed", "returned"}: true,
		{"rescheduled", "out_for_delivery"}: true, {"rescheduled", "cancelled"}: true,
		{"redirected_to_locker", "deposited"}: true,
		{"deposited", "picked_up"}:            true, {"deposited", "expired"}: true,
		{"expired", "collected"}: true, {"collected", "returned"}: true,
	},
}

// Ensure every pair of states is allowed exactly when the table says so.
func TestTransitions(t *testing.T) {
	all := []parcelguard.ParcelState{
		"announced", "reserved", "deposited", "picked_up", "expired", "collected", "returned", "cancelled", "redirected",
		"out_for_delivery", "delivered", "attempt_failed", "rescheduled", "redirected_to_locker",
	}
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for mode, allowed := range legal {
		for _, from := range all {
			for _, to := range all {
				want := allowed[[2]parcelguard.ParcelState{from, to}]
				t.Run(string(mode)+"/"+string(from)+"→"+string(to), func(t *testing.T) {
					p := &parcelguard.Parcel{ID: "p", Mode: mode, State: from}
					err := p.Transition(to, now)
					if want {
						if err != nil {
							t.Fatalf("legal transition refused: %v", err)
						}
						if p.State != to || !p.UpdatedAt.Equal(now) {
							t.Fatalf("state %s at %v, want %s at %v", p.State, p.UpdatedAt, to, now)
						}
						return
					}
					if !errors.Is(err, parcelguard.ErrIllegalTransition) {
						t.Fatalf("illegal transition: err = %v, want ErrIllegalTransition", err)
					}
					if p.State != from {
						t.Fatalf("state changed to %s on a refused transition", p.State)
					}
				})
			}
		}
	}
}

// Ensure terminal states are exactly those nothing leaves.
func TestTerminal(t *testing.T) {
	for _, s := range []parcelguard.ParcelState{"picked_up", "returned", "cancelled"} {
		if !parcelguard.Terminal(parcelguard.HandoverLocker, s) {
			t.Errorf("%s should be terminal for lockers", s)
		}
	}
	for _, s := range []parcelguard.ParcelState{"announced", "reserved", "deposited", "expired", "collected", "redirected"} {
		if parcelguard.Terminal(parcelguard.HandoverLocker, s) {
			t.Errorf("%s should not be terminal for lockers", s)
		}
	}
}

// Ensure announcing validates every field and names each bad one.
func TestParcelValidate(t *testing.T) {
	good := func() parcelguard.Parcel {
		return parcelguard.Parcel{TrackingNumber: "PG-0001", Size: "M", Mode: "locker", SiteID: "site_1",
			Recipient: parcelguard.Recipient{Name: "Ada", Phone: "+48600100200", Email: "ada@example.com", Language: "pl"}}
	}
	tests := []struct {
		name  string
		edit  func(p *parcelguard.Parcel)
		field string
	}{
		{"OK", func(p *parcelguard.Parcel) {}, ""},
		{"ErrTracking", func(p *parcelguard.Parcel) { p.TrackingNumber = "x y" }, "tracking_number"},
		{"ErrPhone", func(p *parcelguard.Parcel) { p.Recipient.Phone = "600100200" }, "recipient.phone"},
		{"ErrEmail", func(p *parcelguard.Parcel) { p.Recipient.Email = "not-an-address" }, "recipient.email"},
		{"ErrLanguage", func(p *parcelguard.Parcel) { p.Recipient.Language = "Polish" }, "recipient.language"},
		{"ErrSize", func(p *parcelguard.Parcel) { p.Size = "XXL" }, "size"},
		{"ErrMode", func(p *parcelguard.Parcel) { p.Mode = "drone" }, "mode"},
		{"ErrSite", func(p *parcelguard.Parcel) { p.SiteID = "" }, "site_id"},
		{"ErrValue", func(p *parcelguard.Parcel) { p.DeclaredValue = -1 }, "declared_value"},
		{"DoorstepNeedsNoSite", func(p *parcelguard.Parcel) { p.Mode, p.SiteID = "doorstep", "" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good()
			tt.edit(&p)
			err := p.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("valid parcel refused: %v", err)
				}
				return
			}
			var e *parcelguard.Error
			if !errors.As(err, &e) || e.Code != parcelguard.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			if len(e.Fields) != 1 || e.Fields[0].Field != tt.field {
				t.Fatalf("fields = %+v, want just %s", e.Fields, tt.field)
			}
		})
	}
}

// Ensure the phone factor takes the last digits, ignoring formatting.
func TestPhoneDigits(t *testing.T) {
	for in, want := range map[string]string{"+48600100200": "0200", "+49 30 1234-5678": "5678", "12": "12"} {
		if got := (parcelguard.Recipient{Phone: in}).PhoneDigits(4); got != want {
			t.Errorf("PhoneDigits(%q) = %q, want %q", in, got, want)
		}
	}
}
