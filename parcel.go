package parcelguard

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// HandoverMode says how a parcel reaches its recipient.
type HandoverMode string

// Handover modes.
const (
	HandoverLocker   HandoverMode = "locker"
	HandoverDoorstep HandoverMode = "doorstep"
)

// ParcelState is the lifecycle state of a parcel.
type ParcelState string

// Locker states: announced → reserved → deposited → picked_up | expired →
// collected → returned, plus cancelled and redirected.
const (
	ParcelAnnounced  ParcelState = "announced"
	ParcelReserved   ParcelState = "reserved"
	ParcelDeposited  ParcelState = "deposited"
	ParcelPickedUp   ParcelState = "picked_up"
	ParcelExpired    ParcelState = "expired"
	ParcelCollected  ParcelState = "collected"
	ParcelReturned   ParcelState = "returned"
	ParcelCancelled  ParcelState = "cancelled"
	ParcelRedirected ParcelState = "redirected"
)

// Doorstep states: announced → out_for_delivery → delivered | attempt_failed →
// (rescheduled → out_for_delivery)* → redirected_to_locker | returned. A
// parcel redirected to a locker then follows the locker's states from
// deposited on: picked_up | expired → collected → returned.
const (
	ParcelOutForDelivery     ParcelState = "out_for_delivery"
	ParcelDelivered          ParcelState = "delivered"
	ParcelAttemptFailed      ParcelState = "attempt_failed"
	ParcelRescheduled        ParcelState = "rescheduled"
	ParcelRedirectedToLocker ParcelState = "redirected_to_locker"
)

// transitions is the whole state machine: for each mode, the states a parcel
// may move to from each state. A state with no entry is terminal.
var transitions = map[HandoverMode]map[ParcelState][]ParcelState{
	HandoverLocker: {
		ParcelAnnounced:  {ParcelReserved, ParcelCancelled, ParcelRedirected},
		ParcelReserved:   {ParcelDeposited, ParcelCancelled, ParcelRedirected},
		ParcelRedirected: {ParcelReserved, ParcelCancelled},
		ParcelDeposited:  {ParcelPickedUp, ParcelExpired},
		ParcelExpired:    {ParcelCollected},
		ParcelCollected:  {ParcelReturned},
	},
	HandoverDoorstep: {
		ParcelAnnounced:      {ParcelOutForDelivery, ParcelCancelled},
		ParcelOutForDelivery: {ParcelDelivered, ParcelAttemptFailed},
		ParcelAttemptFailed:  {ParcelRescheduled, ParcelRedirectedToLocker, ParcelReturned},
		ParcelRescheduled:    {ParcelOutForDelivery, ParcelCancelled},
		// Redirected to a locker: the courier deposits it there.
		ParcelRedirectedToLocker: {ParcelDeposited},
		ParcelDeposited:          {ParcelPickedUp, ParcelExpired},
		ParcelExpired:            {ParcelCollected},
		ParcelCollected:          {ParcelReturned},
	},
}

// CanTransition reports whether the state machine of mode allows from → to.
func CanTransition(mode HandoverMode, from, to ParcelState) bool {
	for _, s := range transitions[mode][from] {
		if s == to {
			return true
		}
	}
	return false
}

// States returns every state of the mode's state machine.
func States(mode HandoverMode) []ParcelState {
	seen := map[ParcelState]bool{}
	var out []ParcelState
	add := func(s ParcelState) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(ParcelAnnounced)
	for from, tos := range transitions[mode] {
		add(from)
		for _, to := range tos {
			add(to)
		}
	}
	return out
}

// Terminal reports whether no transition leaves state s in mode.
func Terminal(mode HandoverMode, s ParcelState) bool { return len(transitions[mode][s]) == 0 }

// Recipient is who a parcel is for.
type Recipient struct {
	Name  string
	Phone string // E.164, such as +48600100200
	Email string
	// Language is a BCP 47 tag such as "pl"; messages fall back to English.
	Language string
}

// PhoneDigits returns the last n digits of the recipient's phone number.
func (r Recipient) PhoneDigits(n int) string {
	d := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, r.Phone)
	if len(d) < n {
		return d
	}
	return d[len(d)-n:]
}

// Parcel is one shipment handed to parcelguard by a carrier.
type Parcel struct {
	ID             string
	CarrierID      string
	TrackingNumber string
	Recipient      Recipient
	Size           SizeClass
	// DeclaredValue is in minor units of Currency.
	DeclaredValue int64
	Currency      string
	Mode          HandoverMode
	State         ParcelState
	// SiteID is the locker the parcel is going to or is in.
	SiteID string
	// CompartmentID is the compartment reserved for or holding the parcel.
	CompartmentID string
	// Deadline is the end of storage once deposited.
	Deadline  time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// Transition moves p to state to if the state machine allows it.
func (p *Parcel) Transition(to ParcelState, now time.Time) error {
	if !CanTransition(p.Mode, p.State, to) {
		return fmt.Errorf("parcel %s %s → %s: %w", p.ID, p.State, to, ErrIllegalTransition)
	}
	p.State, p.UpdatedAt = to, now
	return nil
}

var (
	trackingPattern = regexp.MustCompile(`^[A-Za-z0-9-]{4,40}$`)
	e164Pattern     = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	emailPattern    = regexp.MustCompile(`^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$`)
	languagePattern = regexp.MustCompile(`^[a-z]{2}(-[A-Z]{2})?$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Validate reports every invalid field of a newly announced parcel.
func (p *Parcel) Validate() error {
	var f []FieldError
	if !trackingPattern.MatchString(p.TrackingNumber) {
		f = append(f, FieldError{"tracking_number", "must be 4 to 40 letters, digits or dashes"})
	}
	if p.Recipient.Name == "" || len(p.Recipient.Name) > 200 {
		f = append(f, FieldError{"recipient.name", "must be 1 to 200 characters"})
	}
	if !e164Pattern.MatchString(p.Recipient.Phone) {
		f = append(f, FieldError{"recipient.phone", "must be an E.164 number such as +48600100200"})
	}
	if p.Recipient.Email != "" && (len(p.Recipient.Email) > 254 || !emailPattern.MatchString(p.Recipient.Email)) {
		f = append(f, FieldError{"recipient.email", "must be an e-mail address"})
	}
	if p.Recipient.Language != "" && !languagePattern.MatchString(p.Recipient.Language) {
		f = append(f, FieldError{"recipient.language", "must be a language tag such as pl or de-AT"})
	}
	if !p.Size.Valid() {
		f = append(f, FieldError{"size", "must be one of S, M, L, XL"})
	}
	if p.DeclaredValue < 0 {
		f = append(f, FieldError{"declared_value", "must not be negative"})
	}
	if p.Currency != "" && !currencyPattern.MatchString(p.Currency) {
		f = append(f, FieldError{"currency", "must be an ISO 4217 code such as EUR"})
	}
	switch p.Mode {
	case HandoverLocker:
		if p.SiteID == "" {
			f = append(f, FieldError{"site_id", "is required for locker handover"})
		}
	case HandoverDoorstep:
	default:
		f = append(f, FieldError{"mode", "must be locker or doorstep"})
	}
	if len(f) > 0 {
		return Invalid(f...)
	}
	return nil
}
