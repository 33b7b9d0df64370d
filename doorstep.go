package parcelguard

import (
	"fmt"
	"regexp"
	"time"
)

// Doorstep is the delivery record of a doorstep parcel: where it goes,
// whether it needs a password, and how its attempts went. It lives beside
// the Parcel (same ID) so the locker flow's record stays unchanged.
type Doorstep struct {
	ParcelID  string
	CarrierID string
	// Address is the delivery address; Lat/Lon its position (WGS 84).
	Address  string
	Lat, Lon float64
	// TimeZone is the recipient's IANA zone: delivery dates and password
	// lifetimes are reckoned in it. Country (ISO 3166-1 alpha-2) picks the
	// working-day calendar for redelivery.
	TimeZone string
	Country  string
	// PasswordReason is why a password is needed; empty for none.
	PasswordReason PasswordReason
	// Date is the current (or next, once rescheduled) delivery date.
	Date DeliveryDate
	// RouteSeq orders the day's deliveries of a carrier (the courier's
	// route); zero sorts last.
	RouteSeq int
	// Attempts counts failed attempts so far.
	Attempts int
	// Failures counts wrong passwords on Date; Locked is set once they
	// reached MaxDoorstepPasswordFailures and every password of the day
	// was disabled.
	Failures   int
	Locked     bool
	LastReason AttemptReason
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int64
}

// NeedsPassword reports whether the courier must verify a password.
func (d *Doorstep) NeedsPassword() bool { return d.PasswordReason != ReasonNone }

// Location returns the recipient's zone (UTC if unknown; input is
// validated, so that does not happen for stored records).
func (d *Doorstep) Location() *time.Location {
	loc, err := loadLocation(d.TimeZone)
	if err != nil || d.TimeZone == "" {
		return time.UTC
	}
	return loc
}

var (
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
	categoryPattern = regexp.MustCompile(`^[a-z0-9_-]{1,40}$`)
)

// Validate reports every invalid field of a new doorstep record.
func (d *Doorstep) Validate() error {
	var f []FieldError
	if d.Address == "" || len(d.Address) > 500 {
		f = append(f, FieldError{"doorstep.address", "must be 1 to 500 characters"})
	}
	if d.Lat < -90 || d.Lat > 90 {
		f = append(f, FieldError{"doorstep.lat", "must be between -90 and 90"})
	}
	if d.Lon < -180 || d.Lon > 180 {
		f = append(f, FieldError{"doorstep.lon", "must be between -180 and 180"})
	}
	if _, err := LoadZone("doorstep.time_zone", d.TimeZone); err != nil {
		f = append(f, FieldError{"doorstep.time_zone", "must be an IANA time zone such as Europe/Berlin"})
	}
	if !countryPattern.MatchString(d.Country) || !KnownCountry(d.Country) {
		f = append(f, FieldError{"doorstep.country", "must be one of the supported ISO 3166 codes: " + fmt.Sprint(DoorstepCountries())})
	}
	if len(f) > 0 {
		return Invalid(f...)
	}
	return nil
}

// AttemptReason says why a doorstep attempt failed.
type AttemptReason string

// Attempt failure reasons.
const (
	ReasonNotAtHome     AttemptReason = "not_at_home"
	ReasonWrongPassword AttemptReason = "wrong_password"
	ReasonRefused       AttemptReason = "refused"
	ReasonNotAccessible AttemptReason = "address_not_accessible"
	// ReasonNotDelivered is recorded by the end-of-day timer, never by a
	// courier: the delivery date ended with the parcel still out for
	// delivery, so the courier did not attempt it. It counts like any
	// failed attempt, so no parcel stays out for delivery for ever.
	ReasonNotDelivered AttemptReason = "not_delivered"
)

// Valid reports whether r is a reason a courier may give (every reason
// but ReasonNotDelivered).
func (r AttemptReason) Valid() bool {
	switch r {
	case ReasonNotAtHome, ReasonWrongPassword, ReasonRefused, ReasonNotAccessible:
		return true
	}
	return false
}

// PasswordHolder says whose delivery password it is.
type PasswordHolder string

// Holders of delivery passwords.
const (
	HolderRecipient PasswordHolder = "recipient"
	HolderDelegate  PasswordHolder = "delegate"
)

// DoorstepPassword is a one-time delivery password for one parcel and one
// delivery date. Like a Grant's code it is stored only as a keyed hash and,
// for showing to its holder, sealed with a server key.
type DoorstepPassword struct {
	ID       string
	ParcelID string
	Holder   PasswordHolder
	// DelegateName names the person a delegate password is for.
	DelegateName string
	State        GrantState
	KeyID        string
	CodeHash     []byte
	CodeSealed   []byte
	Date         DeliveryDate
	NotBefore    time.Time
	// ExpiresAt is the end of Date in the recipient's zone (exclusive).
	ExpiresAt time.Time
	UsedAt    time.Time
	CreatedAt time.Time
	Version   int64
}

// Usable returns nil if the password can verify a handover at now, or the
// error that explains why not.
func (p *DoorstepPassword) Usable(now time.Time) error {
	g := Grant{State: p.State, NotBefore: p.NotBefore, ExpiresAt: p.ExpiresAt}
	return g.Usable(now)
}

// Use consumes the password; it fails unless usable at now, so a password
// verifies at most one handover.
func (p *DoorstepPassword) Use(now time.Time) error {
	if err := p.Usable(now); err != nil {
		return fmt.Errorf("use doorstep password %s: %w", p.ID, err)
	}
	p.State, p.UsedAt = GrantUsed, now
	return nil
}

// End moves an active or locked password to a final state.
func (p *DoorstepPassword) End(to GrantState) {
	if p.State == GrantActive || p.State == GrantLocked {
		p.State = to
	}
}

// DoorstepProof records a completed doorstep handover: who verified (the
// recipient's or a delegate's password, or none when the policy needs
// none), when, where and which courier.
type DoorstepProof struct {
	ParcelID string
	// Holder is whose password verified; empty when none was needed.
	Holder       PasswordHolder
	DelegateName string
	PasswordID   string
	// Courier is the audit actor of the courier's key.
	Courier   string
	Lat, Lon  float64
	DistanceM float64
	At        time.Time
	// Offline is set when the courier recorded the handover without a
	// connection and it was verified later; RecordedAt is the app's time.
	Offline    bool
	RecordedAt time.Time
}

// OfflineState is where an offline handover record is in its check.
type OfflineState string

// Offline states.
const (
	OfflinePending  OfflineState = "pending"
	OfflineVerified OfflineState = "verified"
	OfflineMismatch OfflineState = "mismatch"
)

// OfflineEntry is a handover a courier recorded without a connection: the
// password they were told, where and when. It is stored as pending and
// verified on the server when the app syncs (SECURITY.md 12); the password
// is kept only as a keyed hash.
type OfflineEntry struct {
	ID       string
	ParcelID string
	// CarrierID scopes the operators' and carrier's list.
	CarrierID  string
	Courier    string
	KeyID      string
	CodeHash   []byte
	Lat, Lon   float64
	RecordedAt time.Time
	State      OfflineState
	// Problems lists what did not match, such as "password", "position",
	// "time", "state".
	Problems   []string
	CreatedAt  time.Time
	VerifiedAt time.Time
	Version    int64
}

// OfflineFilter selects offline entries; zero fields do not filter.
// Entries come in creation order (ascending ID).
type OfflineFilter struct {
	CarrierID string
	ParcelID  string
	State     OfflineState
	After     string
	Limit     int
}

// DoorstepFilter selects doorstep records; zero fields do not filter.
// Records come in route order: RouteSeq (zero last), then ParcelID.
type DoorstepFilter struct {
	CarrierID string
	Date      DeliveryDate
	Limit     int
}

// CarrierStream returns the audit stream of a carrier's doorstep events.
// Each carrier has its own hash chain, like each site, so doorstep changes
// of different carriers never wait for one chain head (and none waits for
// the system stream); audit verify walks it like every other chain.
func CarrierStream(carrierID string) string { return "carrier:" + carrierID }

// Doorstep events.
const (
	EventDoorstepOutForDelivery EventKind = "doorstep.out_for_delivery"
	EventDoorstepDelivered      EventKind = "doorstep.delivered"
	EventDoorstepVerifyFailed   EventKind = "doorstep.verify_failed"
	EventDoorstepLocked         EventKind = "doorstep.password_locked"
	EventDoorstepPositionFar    EventKind = "doorstep.position_mismatch"
	EventDoorstepAttemptFailed  EventKind = "doorstep.attempt_failed"
	EventDoorstepRescheduled    EventKind = "doorstep.rescheduled"
	EventDoorstepRedirected     EventKind = "doorstep.redirected_to_locker"
	EventDoorstepReturned       EventKind = "doorstep.returned"
	EventDoorstepDelegated      EventKind = "doorstep.delegate_created"
	EventDoorstepDelegateRevoke EventKind = "doorstep.delegate_revoked"
	EventDoorstepOfflineQueued  EventKind = "doorstep.offline_recorded"
	EventDoorstepPolicySaved    EventKind = "doorstep.policy_saved"
	// EventAlarmOfflineMismatch is the operator alert raised when an
	// offline handover does not verify.
	EventAlarmOfflineMismatch EventKind = "alarm.doorstep_offline_mismatch"
)

// Doorstep message kinds beside MessageDoorstepPassword and
// MessageAttemptFailed.
const (
	// MessageDoorstepDelegate carries a delegate's delivery password.
	MessageDoorstepDelegate MessageKind = "doorstep_delegate"
	// MessageDoorstepRedirected says the parcel goes to a locker instead.
	MessageDoorstepRedirected MessageKind = "doorstep_redirected"
	// MessageDoorstepReturned says the parcel goes back to its sender.
	MessageDoorstepReturned MessageKind = "doorstep_returned"
	// MessageDoorstepPasswordDisabled tells the recipient that too many
	// wrong passwords disabled the day's delivery passwords, and when the
	// next attempt is (Data "date", "new_date"; no new date when the
	// attempts ran out, which its own message explains).
	MessageDoorstepPasswordDisabled MessageKind = "doorstep_password_disabled"
)

// Doorstep timers.
const (
	// TimerDoorstepRedeliver sends a rescheduled parcel out again at the
	// start of its new delivery date, with a new password.
	TimerDoorstepRedeliver TimerKind = "doorstep_redeliver"
	// TimerDoorstepDayEnd fires at the end of the delivery date (in the
	// recipient's zone) of a parcel out for delivery: if it is still out,
	// the attempt fails as ReasonNotDelivered.
	TimerDoorstepDayEnd TimerKind = "doorstep_day_end"
)
