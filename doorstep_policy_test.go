package parcelguard_test

import (
	"testing"

	"github.com/parcelguard/parcelguard"
)

// Ensure each rule of the policy, alone and together, decides as the table
// says, and names the first rule that applies.
func TestDoorstepPolicyRequiresPassword(t *testing.T) {
	strict := &parcelguard.DoorstepPolicy{ValueThreshold: 50000, Currency: "EUR", Categories: []string{"jewellery", "phones"},
		ShipmentFlag: true, RecipientOptIn: true}
	anyCurrency := &parcelguard.DoorstepPolicy{ValueThreshold: 50000}
	deaf := &parcelguard.DoorstepPolicy{ValueThreshold: 0, Categories: nil, ShipmentFlag: false, RecipientOptIn: false}
	for _, tc := range []struct {
		name   string
		policy *parcelguard.DoorstepPolicy
		in     parcelguard.DoorstepShipment
		want   parcelguard.PasswordReason
	}{
		{"below threshold", strict, parcelguard.DoorstepShipment{DeclaredValue: 49999, Currency: "EUR"}, parcelguard.ReasonNone},
		{"at threshold", strict, parcelguard.DoorstepShipment{DeclaredValue: 50000, Currency: "EUR"}, parcelguard.ReasonValue},
		{"above threshold", strict, parcelguard.DoorstepShipment{DeclaredValue: 900000, Currency: "eur"}, parcelguard.ReasonValue},
		{"other currency", strict, parcelguard.DoorstepShipment{DeclaredValue: 900000, Currency: "PLN"}, parcelguard.ReasonNone},
		{"threshold any currency", anyCurrency, parcelguard.DoorstepShipment{DeclaredValue: 50000, Currency: "PLN"}, parcelguard.ReasonValue},
		{"category", strict, parcelguard.DoorstepShipment{Categories: []string{"books", "Phones"}}, parcelguard.ReasonCategory},
		{"unlisted category", strict, parcelguard.DoorstepShipment{Categories: []string{"books"}}, parcelguard.ReasonNone},
		{"carrier flag", strict, parcelguard.DoorstepShipment{Flag: true}, parcelguard.ReasonFlag},
		{"recipient opt-in", strict, parcelguard.DoorstepShipment{OptIn: true}, parcelguard.ReasonOptIn},
		{"value beats category", strict, parcelguard.DoorstepShipment{DeclaredValue: 60000, Currency: "EUR", Categories: []string{"phones"}, Flag: true}, parcelguard.ReasonValue},
		{"flag ignored", deaf, parcelguard.DoorstepShipment{Flag: true, OptIn: true, DeclaredValue: 1 << 40}, parcelguard.ReasonNone},
		{"zero threshold is off", deaf, parcelguard.DoorstepShipment{DeclaredValue: 0}, parcelguard.ReasonNone},
		{"default policy honours flag", parcelguard.DefaultDoorstepPolicy("c"), parcelguard.DoorstepShipment{Flag: true}, parcelguard.ReasonFlag},
		{"default policy honours opt-in", parcelguard.DefaultDoorstepPolicy("c"), parcelguard.DoorstepShipment{OptIn: true}, parcelguard.ReasonOptIn},
		{"default policy plain", parcelguard.DefaultDoorstepPolicy("c"), parcelguard.DoorstepShipment{DeclaredValue: 1 << 40}, parcelguard.ReasonNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.policy.RequiresPassword(tc.in); got != tc.want {
				t.Fatalf("RequiresPassword(%+v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// Ensure policy validation names each bad field.
func TestDoorstepPolicyValidate(t *testing.T) {
	if err := parcelguard.DefaultDoorstepPolicy("c").Validate(); err != nil {
		t.Fatalf("default policy invalid: %v", err)
	}
	bad := &parcelguard.DoorstepPolicy{ValueThreshold: -1, Currency: "euro", Categories: []string{"Bad Category"},
		MaxAttempts: 0, Fallback: "drone", RadiusM: 1, LockerSearchM: 1}
	err := bad.Validate()
	fields := map[string]bool{}
	if e, ok := err.(*parcelguard.Error); ok {
		for _, f := range e.Fields {
			fields[f.Field] = true
		}
	}
	for _, f := range []string{"value_threshold", "currency", "categories", "max_attempts", "fallback", "radius_m", "locker_search_m"} {
		if !fields[f] {
			t.Errorf("field %s not reported in %v", f, err)
		}
	}
}
