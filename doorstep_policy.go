package parcelguard

import (
	"slices"
	"strings"
	"time"
)

// DoorstepFallback is what happens to a doorstep parcel after its last
// failed attempt.
type DoorstepFallback string

// Fallbacks after the last attempt.
const (
	// FallbackLocker redirects the parcel to the nearest locker with a free
	// compartment that fits it, falling back to return when there is none.
	FallbackLocker DoorstepFallback = "locker"
	// FallbackReturn returns the parcel to its sender.
	FallbackReturn DoorstepFallback = "return"
)

// Doorstep policy defaults.
const (
	DefaultDoorstepAttempts = 3
	MaxDoorstepAttempts     = 10
	// DefaultDoorstepRadiusM is how far from the delivery address a
	// courier may be when verifying a password.
	DefaultDoorstepRadiusM = 200
	// DefaultLockerSearchM bounds the search for a locker to redirect to.
	DefaultLockerSearchM = 10_000
	// MaxDoorstepPasswordFailures is how many wrong passwords a shipment
	// takes on one delivery day before its passwords are disabled for the
	// day (SECURITY.md 8).
	MaxDoorstepPasswordFailures = MaxGrantFailures
)

// DoorstepPolicy is a carrier's rule for which doorstep shipments need a
// one-time delivery password, and how failed attempts end.
type DoorstepPolicy struct {
	CarrierID string
	// ValueThreshold requires a password for a declared value at or above
	// it (minor units); zero switches the rule off.
	ValueThreshold int64
	// Currency restricts the value rule to shipments declared in it; empty
	// compares any currency's amount.
	Currency string
	// Categories require a password for shipments in any of them.
	Categories []string
	// ShipmentFlag honours the carrier's per-shipment "password" flag.
	ShipmentFlag bool
	// RecipientOptIn honours a recipient's request for a password.
	RecipientOptIn bool
	// MaxAttempts is how many failed attempts end the doorstep delivery.
	MaxAttempts int
	// Fallback says where the parcel goes after the last attempt.
	Fallback DoorstepFallback
	// RadiusM is how far from the address a courier may verify.
	RadiusM float64
	// LockerSearchM bounds the distance to a redirect locker.
	LockerSearchM float64
	UpdatedAt     time.Time
	Version       int64
}

// DefaultDoorstepPolicy is the policy of a carrier that saved none: the
// carrier's flag and the recipient's opt-in decide, three attempts, then
// the nearest locker.
func DefaultDoorstepPolicy(carrierID string) *DoorstepPolicy {
	return &DoorstepPolicy{CarrierID: carrierID, ShipmentFlag: true, RecipientOptIn: true,
		MaxAttempts: DefaultDoorstepAttempts, Fallback: FallbackLocker, RadiusM: DefaultDoorstepRadiusM,
		LockerSearchM: DefaultLockerSearchM}
}

// Validate reports every invalid field of a policy.
func (p *DoorstepPolicy) Validate() error {
	var f []FieldError
	if p.ValueThreshold < 0 {
		f = append(f, FieldError{"value_threshold", "must not be negative"})
	}
	if p.Currency != "" && !currencyPattern.MatchString(p.Currency) {
		f = append(f, FieldError{"currency", "must be an ISO 4217 code such as EUR"})
	}
	if len(p.Categories) > 50 {
		f = append(f, FieldError{"categories", "must list at most 50 categories"})
	}
	for _, c := range p.Categories {
		if !categoryPattern.MatchString(c) {
			f = append(f, FieldError{"categories", "must be 1 to 40 lower-case letters, digits, dashes or underscores"})
			break
		}
	}
	if p.MaxAttempts < 1 || p.MaxAttempts > MaxDoorstepAttempts {
		f = append(f, FieldError{"max_attempts", "must be between 1 and 10"})
	}
	if p.Fallback != FallbackLocker && p.Fallback != FallbackReturn {
		f = append(f, FieldError{"fallback", "must be locker or return"})
	}
	if p.RadiusM < 10 || p.RadiusM > 5000 {
		f = append(f, FieldError{"radius_m", "must be between 10 and 5000"})
	}
	if p.LockerSearchM < 100 || p.LockerSearchM > 100_000 {
		f = append(f, FieldError{"locker_search_m", "must be between 100 and 100000"})
	}
	if len(f) > 0 {
		return Invalid(f...)
	}
	return nil
}

// DoorstepShipment is what the policy looks at in a shipment.
type DoorstepShipment struct {
	DeclaredValue int64
	Currency      string
	Categories    []string
	// Flag is the carrier's per-shipment request for a password.
	Flag bool
	// OptIn is the recipient's request for a password.
	OptIn bool
}

// PasswordReason says which rule made a shipment need a password.
type PasswordReason string

// Password reasons, in the order the policy checks them.
const (
	ReasonNone     PasswordReason = ""
	ReasonValue    PasswordReason = "value"
	ReasonCategory PasswordReason = "category"
	ReasonFlag     PasswordReason = "carrier_flag"
	ReasonOptIn    PasswordReason = "recipient_opt_in"
)

// RequiresPassword decides whether a shipment needs a delivery password
// and names the first rule that says so; ReasonNone means the ordinary
// doorstep flow. It is a pure function of the policy and the shipment.
func (p *DoorstepPolicy) RequiresPassword(s DoorstepShipment) PasswordReason {
	if p.ValueThreshold > 0 && s.DeclaredValue >= p.ValueThreshold &&
		(p.Currency == "" || strings.EqualFold(p.Currency, s.Currency)) {
		return ReasonValue
	}
	for _, c := range s.Categories {
		if slices.Contains(p.Categories, strings.ToLower(c)) {
			return ReasonCategory
		}
	}
	if p.ShipmentFlag && s.Flag {
		return ReasonFlag
	}
	if p.RecipientOptIn && s.OptIn {
		return ReasonOptIn
	}
	return ReasonNone
}
