package parcelguard

import (
	"math"
	"time"
)

// Network administration and API extras: site search, carrier fallback
// policy, delegate pickup codes and redirects.

// Event kinds of the network area.
const (
	EventSiteUpdated        EventKind = "site.updated"
	EventCarrierUpdated     EventKind = "carrier.updated"
	EventAPIKeyRevoked      EventKind = "api_key.revoked"
	EventDelegateCreated    EventKind = "delegate.created"
	EventDelegateRevoked    EventKind = "delegate.revoked"
	EventCompartmentFaulty  EventKind = "compartment.problem_reported"
	EventSiteDecommissioned EventKind = "site.decommissioned"
	EventCompartmentRemoved EventKind = "compartment.removed"
)

// MessageRedirected tells the recipient that their parcel goes to another
// locker, and which.
const MessageRedirected MessageKind = "redirected"

// GeoBox is a latitude/longitude rectangle in degrees (bounds included).
type GeoBox struct {
	MinLat, MaxLat, MinLon, MaxLon float64
}

// BoxAround returns a box that contains every point within radiusM metres
// of (lat, lon). Near the poles or across the antimeridian it widens to
// every longitude rather than wrap, which is safe (the caller filters by
// exact distance) and rare.
func BoxAround(lat, lon, radiusM float64) GeoBox {
	dLat := radiusM / earthRadiusM * 180 / math.Pi
	b := GeoBox{MinLat: max(lat-dLat, -90), MaxLat: min(lat+dLat, 90), MinLon: -180, MaxLon: 180}
	cos := math.Cos(lat * math.Pi / 180)
	if b.MinLat > -89 && b.MaxLat < 89 && cos > 0 {
		// The widest longitude span is at the box's edge nearest a pole.
		edge := math.Max(math.Abs(b.MinLat), math.Abs(b.MaxLat))
		dLon := dLat / math.Cos(edge*math.Pi/180)
		if lon-dLon >= -180 && lon+dLon <= 180 {
			b.MinLon, b.MaxLon = lon-dLon, lon+dLon
		}
	}
	return b
}

// Contains reports whether the point is inside the box.
func (b GeoBox) Contains(lat, lon float64) bool {
	return lat >= b.MinLat && lat <= b.MaxLat && lon >= b.MinLon && lon <= b.MaxLon
}

// SiteAvailability is a site with the number of free compartments of each
// size class.
type SiteAvailability struct {
	Site *Site
	Free map[SizeClass]int
}

// FreeFor returns how many free compartments a parcel of the size fits.
func (a *SiteAvailability) FreeFor(size SizeClass) int {
	n := 0
	for c, k := range a.Free {
		if size.Fits(c) {
			n += k
		}
	}
	return n
}

// FallbackMode is what happens when a carrier's chosen locker has no free
// compartment of a parcel's size.
type FallbackMode string

// Fallback modes.
const (
	// FallbackReject refuses the reservation (409).
	FallbackReject FallbackMode = "reject"
	// FallbackPropose refuses it but names the nearest locker with room.
	FallbackPropose FallbackMode = "propose"
	// FallbackAssign moves the parcel to the nearest locker with room and
	// tells the recipient.
	FallbackAssign FallbackMode = "assign"
)

// Valid reports whether m is a known mode.
func (m FallbackMode) Valid() bool {
	return m == FallbackReject || m == FallbackPropose || m == FallbackAssign
}

// MaxFallbackDistanceM bounds how far a fallback locker may be.
const MaxFallbackDistanceM = 50_000

// CarrierPolicy is a carrier's full-locker policy.
type CarrierPolicy struct {
	CarrierID string
	Fallback  FallbackMode
	// MaxDistanceM is how far from the chosen locker a fallback may be.
	MaxDistanceM int
	UpdatedAt    time.Time
}

// DefaultCarrierPolicy is the policy of a carrier that set none: a full
// locker is refused.
func DefaultCarrierPolicy(carrierID string) *CarrierPolicy {
	return &CarrierPolicy{CarrierID: carrierID, Fallback: FallbackReject}
}

// Validate reports every invalid field of the policy.
func (p *CarrierPolicy) Validate() error {
	var f []FieldError
	if !p.Fallback.Valid() {
		f = append(f, FieldError{"fallback", "must be reject, propose or assign"})
	}
	if p.MaxDistanceM < 0 || p.MaxDistanceM > MaxFallbackDistanceM {
		f = append(f, FieldError{"fallback_max_distance_m", "must be between 0 and 50000"})
	}
	if len(f) > 0 {
		return Invalid(f...)
	}
	return nil
}

// Delegate is a person a recipient allowed to collect their parcel with a
// pickup grant of their own (SECURITY.md 14). The grant holds the code;
// revoking the delegate ends the grant.
type Delegate struct {
	GrantID  string
	ParcelID string
	Name     string
	// Email and Phone are where the delegate's code is sent; at least one.
	Email     string
	Phone     string
	CreatedAt time.Time
}

// Validate reports every invalid field of a new delegate.
func (d *Delegate) Validate() error {
	var f []FieldError
	if d.Name == "" || len(d.Name) > 200 {
		f = append(f, FieldError{"name", "must be 1 to 200 characters"})
	}
	if d.Email == "" && d.Phone == "" {
		f = append(f, FieldError{"phone", "a phone number or an e-mail address is required"})
	}
	if d.Phone != "" && !e164Pattern.MatchString(d.Phone) {
		f = append(f, FieldError{"phone", "must be an E.164 number such as +48600100200"})
	}
	if d.Email != "" && (len(d.Email) > 254 || !emailPattern.MatchString(d.Email)) {
		f = append(f, FieldError{"email", "must be an e-mail address"})
	}
	if len(f) > 0 {
		return Invalid(f...)
	}
	return nil
}

// CarrierFilter selects carriers in id order.
type CarrierFilter struct {
	After string
	Limit int
}

// APIKeyFilter selects API keys in prefix order; zero fields do not filter.
type APIKeyFilter struct {
	CarrierID string
	Role      Role
	After     string
	Limit     int
}
