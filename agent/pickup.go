package agent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/devicemsg"
)

// PickupResult tells the kiosk which door opened.
type PickupResult struct {
	ParcelID         string
	CompartmentID    string
	CompartmentLabel string
}

// Scopes of the keyed hashes, as the cloud makes them (service package).
func pickupScope(siteID string) string { return "pickup|" + siteID }
func phoneScope(grantID string) string { return "phone|" + grantID }
func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Pickup opens a compartment for a recipient with its PIN and, where the
// grant asks for it, the last phone digits, without the network. It keeps
// the cloud's rules: a wrong PIN and wrong digits get the same
// ErrCodeRejected after the same work; wrong digits count against the grant
// (locked after parcelguard.MaxGrantFailures); every failure counts against
// the locker's guard (growing delays, alarm), which lives in the local
// store so a restart does not reset it. The grant is used and the pickup
// event queued in one local transaction before the lock opens: a grant
// opens at most once.
func (a *Agent) Pickup(ctx context.Context, pin, phoneDigits string) (*PickupResult, error) {
	var bad []parcelguard.FieldError
	if !isDigits(pin, 6) {
		bad = append(bad, parcelguard.FieldError{Field: "pin", Message: "must be 6 digits"})
	}
	if phoneDigits != "" && !isDigits(phoneDigits, parcelguard.PhoneFactorDigits) {
		bad = append(bad, parcelguard.FieldError{Field: "phone_digits", Message: "must be the last 4 digits of the phone number"})
	}
	if len(bad) > 0 {
		return nil, parcelguard.Invalid(bad...)
	}
	var (
		g       *parcelguard.Grant
		outcome error
		alarms  []*devicemsg.Event
	)
	err := a.store.tx(ctx, func(tx *sql.Tx) error {
		g, outcome, alarms = nil, nil, nil
		now := a.clock.Now()
		guard, cand, blocked, err := a.matchCode(ctx, tx, parcelguard.PurposePickup, pickupScope(a.site), pin, now)
		if err != nil || blocked != nil {
			outcome = blocked
			return err
		}
		phoneOK := a.phoneMatches(cand, phoneDigits)
		switch {
		case cand == nil:
		case !phoneOK:
			if cand.Fail() {
				al := a.newEvent(devicemsg.AlarmGrantLocked, cand.CompartmentID, cand.ID)
				al.Data["failures"] = strconv.Itoa(cand.Failures)
				al.Data["priority"] = "high"
				alarms = append(alarms, al)
			}
			if err := putGrant(ctx, tx, cand); err != nil {
				return err
			}
		default:
			if err := cand.Use(now); err != nil {
				outcome = refusal(err)
				return nil
			}
			if err := putGrant(ctx, tx, cand); err != nil {
				return err
			}
			g = cand
			ev := a.newEvent(devicemsg.EventPickup, g.CompartmentID, g.ID)
			ev.Data["method"] = "pin"
			return enqueue(ctx, tx, ev)
		}
		al, err := a.failGuard(ctx, tx, guard, now)
		if err != nil {
			return err
		}
		if al != nil {
			alarms = append(alarms, al)
		}
		outcome = parcelguard.ErrCodeRejected
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pickup at %s: %w", a.site, err)
	}
	// The alarms go up as events, bookmarked by the camera like door
	// alarms. They are recorded after the guard and grant are saved, since
	// a camera call must not hold the store; a crash in between loses the
	// alarm but never the lockout itself.
	for _, al := range alarms {
		a.log.Warn("kiosk alarm", "kind", al.Kind, "grant", al.GrantIDs)
		if err := a.record(ctx, al); err != nil {
			a.log.Error("alarm not recorded", "kind", al.Kind, "err", err)
		}
	}
	if outcome != nil {
		return nil, outcome
	}
	return a.open(ctx, g)
}

// matchCode loads the locker's guard and, unless it holds attempts off at
// now (blocked is then the refusal), finds the active grant of purpose
// whose code, hashed in scope, is code: nil for none.
func (a *Agent) matchCode(ctx context.Context, tx *sql.Tx, purpose parcelguard.GrantPurpose, scope, code string, now time.Time) (guard *parcelguard.LockerGuard, cand *parcelguard.Grant, blocked, err error) {
	if guard, err = loadGuard(ctx, tx); err != nil {
		return nil, nil, nil, err
	}
	if wait := guard.Blocked(now); wait > 0 {
		return guard, nil, parcelguard.Throttled(wait), nil
	}
	ids, hashes := a.keys.HashAll(scope, code)
	grants, err := activeGrantsByCode(ctx, tx, purpose, hashes)
	if err != nil {
		return nil, nil, nil, err
	}
	return guard, parcelguard.MatchingGrant(grants, ids, hashes), nil, nil
}

// PickupQR opens a compartment for a recipient showing the QR token of a
// pickup grant: Ed25519-signed by the cloud for this locker. As in the
// cloud, a bad token does not count against the guard (it cannot be guessed
// into validity) and a blocked kiosk still honours a valid token.
func (a *Agent) PickupQR(ctx context.Context, token string) (*PickupResult, error) {
	if token == "" || len(token) > 1024 {
		return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "token", Message: "must be a QR token"})
	}
	now := a.clock.Now()
	t, err := a.tokens.Verify(token, a.site, now)
	switch {
	case errors.Is(err, code.ErrTokenExpired):
		return nil, parcelguard.ErrCodeExpired
	case err != nil:
		return nil, parcelguard.ErrCodeRejected
	case t.Purpose != string(parcelguard.PurposePickup):
		return nil, parcelguard.ErrCodeRejected
	}
	var g *parcelguard.Grant
	var outcome error
	err = a.store.tx(ctx, func(tx *sql.Tx) error {
		g, outcome = nil, nil
		cand, err := grant(ctx, tx, t.Subject)
		if errors.Is(err, parcelguard.ErrNotFound) {
			outcome = parcelguard.ErrCodeRejected
			return nil
		}
		if err != nil {
			return err
		}
		if cand.Purpose != parcelguard.PurposePickup {
			outcome = parcelguard.ErrCodeRejected
			return nil
		}
		if err := cand.Use(now); err != nil {
			outcome = refusal(err)
			return nil
		}
		if err := putGrant(ctx, tx, cand); err != nil {
			return err
		}
		g = cand
		ev := a.newEvent(devicemsg.EventPickup, g.CompartmentID, g.ID)
		ev.Data["method"] = "qr"
		return enqueue(ctx, tx, ev)
	})
	if err != nil {
		return nil, fmt.Errorf("qr pickup at %s: %w", a.site, err)
	}
	if outcome != nil {
		return nil, outcome
	}
	return a.open(ctx, g)
}

// open unlocks the grant's compartment through the door monitor, which ties
// the opening that follows to the grant.
func (a *Agent) open(ctx context.Context, g *parcelguard.Grant) (*PickupResult, error) {
	c, _ := a.compartment(g.CompartmentID)
	res := &PickupResult{ParcelID: g.ParcelID, CompartmentID: c.ID, CompartmentLabel: c.Label}
	lock, ok := a.lockOf(g.CompartmentID)
	if !ok {
		return nil, fmt.Errorf("grant %s: compartment %s has no lock", g.ID, g.CompartmentID)
	}
	if err := a.monitor.Unlock(ctx, a.cfg.Driver, lock, g.ID); err != nil {
		// The grant is spent; the door monitor raises access-not-taken and
		// the operator can open remotely.
		a.log.Error("unlock failed", "grant", g.ID, "lock", lock, "err", err)
		return res, fmt.Errorf("open compartment %s: %w", c.Label, err)
	}
	return res, nil
}

// phoneMatches checks the second factor in constant time, hashing against a
// throwaway scope when no grant matched so both failures cost the same.
func (a *Agent) phoneMatches(g *parcelguard.Grant, digits string) bool {
	keyID, scope, want := a.keys.CurrentID(), phoneScope("none"), []byte(nil)
	if g != nil {
		keyID, scope, want = g.KeyID, phoneScope(g.ID), g.PhoneHash
	}
	got, err := a.keys.Hash(keyID, scope, digits)
	if err != nil || g == nil {
		return false
	}
	if len(want) == 0 {
		return true
	}
	return code.Equal(got, want)
}

// refusal turns why a grant cannot be used into the kiosk's answer.
func refusal(err error) error {
	for _, e := range []error{parcelguard.ErrCodeExpired, parcelguard.ErrCodeLocked} {
		if errors.Is(err, e) {
			return e
		}
	}
	return parcelguard.ErrCodeRejected
}

// failGuard counts a wrong code against the locker's guard, in the local
// transaction, and returns the guessing alarm it raises, if any.
func (a *Agent) failGuard(ctx context.Context, tx *sql.Tx, guard *parcelguard.LockerGuard, now time.Time) (*devicemsg.Event, error) {
	_, raise := guard.Fail(now)
	if err := saveGuard(ctx, tx, guard); err != nil {
		return nil, err
	}
	if !raise {
		return nil, nil
	}
	al := a.newEvent(devicemsg.AlarmGuessing, "")
	al.Data["failures"] = strconv.Itoa(guard.Failures)
	al.Data["priority"] = "high"
	return al, nil
}
