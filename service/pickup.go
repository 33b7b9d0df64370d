package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
)

// PickupResult tells the kiosk which door to open.
type PickupResult struct {
	ParcelID         string
	CompartmentID    string
	CompartmentLabel string
}

// Pickup opens a parcel's compartment for a recipient who presents its PIN
// and, where the carrier requires it, the last digits of their phone number.
//
// A wrong PIN, a wrong phone number and a PIN of another locker all get the
// same ErrCodeRejected after the same work (SECURITY.md 6). Every attempt is
// an audit event; failures count against the grant (lockout after
// MaxGrantFailures) and against the locker's failure budget, which delays
// further attempts and alarms the operator (SECURITY.md 8). Those counters
// commit even though the attempt fails.
func (s *Service) Pickup(ctx context.Context, p parcelguard.Principal, siteID, pin, phoneDigits string) (*PickupResult, error) {
	if err := require(p, parcelguard.RoleKiosk); err != nil {
		return nil, err
	}
	if p.Role == parcelguard.RoleKiosk && p.SiteID != siteID {
		return nil, parcelguard.ErrForbidden
	}
	// Malformed input is not a guess at a code; nothing to count.
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
	var res *PickupResult
	var outcome error // the answer to the kiosk, decided inside the transaction
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		res, outcome = nil, nil
		var err error
		res, outcome, err = s.pickup(ctx, tx, p, siteID, pin, phoneDigits)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pickup at %s: %w", siteID, err)
	}
	s.metrics.PickupAttempts.WithLabelValues(pickupOutcome(outcome)).Inc()
	if outcome != nil {
		return nil, outcome
	}
	return res, nil
}

// pickup is Pickup's transaction. It returns the kiosk's answer as outcome
// and reserves err for failures that must roll everything back.
func (s *Service) pickup(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, siteID, pin, phoneDigits string) (res *PickupResult, outcome, err error) {
	now := s.clock.Now()
	if _, err := tx.Site(ctx, siteID); err != nil {
		return nil, nil, err
	}
	guard, err := tx.LockerGuard(ctx, siteID)
	if err != nil {
		return nil, nil, err
	}
	if wait := guard.Blocked(now); wait > 0 {
		return nil, parcelguard.Throttled(wait), nil
	}
	ids, hashes := s.keys.HashAll(pickupScope(siteID), pin)
	grants, err := tx.ActiveGrantsByCode(ctx, siteID, parcelguard.PurposePickup, hashes)
	if err != nil {
		return nil, nil, err
	}
	g := parcelguard.MatchingGrant(grants, ids, hashes)

	// Always compute and compare the phone hash, with a throwaway grant when
	// the PIN matched nothing, so both failures take the same time.
	phoneOK := s.phoneMatches(g, phoneDigits)
	fail := &parcelguard.Event{Kind: parcelguard.EventPickupFailed, SiteID: siteID}
	switch {
	case g == nil:
		fail.Data = map[string]string{"reason": "unknown_code"}
	case !phoneOK:
		fail.GrantID, fail.ParcelID, fail.CompartmentID = g.ID, g.ParcelID, g.CompartmentID
		fail.Data = map[string]string{"reason": "second_factor"}
		if g.Fail() {
			s.metrics.GrantLockouts.Inc()
			if err := s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventGrantLocked, SiteID: siteID,
				GrantID: g.ID, ParcelID: g.ParcelID, Data: map[string]string{"failures": strconv.Itoa(g.Failures)}}); err != nil {
				return nil, nil, err
			}
		}
		if err := tx.SaveGrant(ctx, g); err != nil {
			return nil, nil, err
		}
	default:
		if err := g.Usable(now); err != nil {
			fail.GrantID, fail.ParcelID = g.ID, g.ParcelID
			fail.Data = map[string]string{"reason": parcelguard.ErrorMessage(err)}
			if err := s.appendEvent(ctx, tx, p, fail); err != nil {
				return nil, nil, err
			}
			return nil, err, nil
		}
		res, err := s.completePickup(ctx, tx, p, g)
		return res, nil, err
	}
	delay, alarm := guard.Fail(now)
	// The guard's level: the locker's failures not yet drained by quiet.
	fail.Data["locker_failures"] = strconv.Itoa(guard.Failures)
	if delay > 0 {
		fail.Data["delay"] = delay.String()
	}
	if err := tx.SaveLockerGuard(ctx, guard); err != nil {
		return nil, nil, err
	}
	if err := s.appendEvent(ctx, tx, p, fail); err != nil {
		return nil, nil, err
	}
	if alarm {
		s.metrics.GuardAlarms.Inc()
		if err := s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventAlarmGuessing, SiteID: siteID,
			Data: map[string]string{"failures": strconv.Itoa(guard.Failures), "since": guard.WindowStart.Format("2006-01-02T15:04:05Z07:00")}}); err != nil {
			return nil, nil, err
		}
	}
	return nil, parcelguard.ErrCodeRejected, nil
}

// phoneMatches checks the second factor of g in constant time. A grant
// without a phone hash needs none; a nil grant never matches.
func (s *Service) phoneMatches(g *parcelguard.Grant, digits string) bool {
	keyID, scope, want := s.keys.CurrentID(), phoneScope("none"), []byte(nil)
	if g != nil {
		keyID, scope, want = g.KeyID, phoneScope(g.ID), g.PhoneHash
	}
	got, err := s.keys.Hash(keyID, scope, digits)
	if err != nil || g == nil {
		return false
	}
	if want == nil {
		return true
	}
	return code.Equal(got, want)
}

// completePickup consumes the grant, hands the parcel over and frees the
// compartment.
func (s *Service) completePickup(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, g *parcelguard.Grant) (*PickupResult, error) {
	now := s.clock.Now()
	if err := g.Use(now); err != nil {
		return nil, err
	}
	x, err := tx.Parcel(ctx, g.ParcelID)
	if err != nil {
		return nil, err
	}
	if err := x.Transition(parcelguard.ParcelPickedUp, now); err != nil {
		return nil, err
	}
	c, err := tx.Compartment(ctx, g.CompartmentID)
	if err != nil {
		return nil, err
	}
	c.Release(x.ID)
	delegate, err := delegateOf(ctx, tx, g)
	if err != nil {
		return nil, err
	}
	for _, save := range []func() error{
		func() error { return tx.SaveGrant(ctx, g) },
		func() error { return s.endOtherPickupGrants(ctx, tx, x.ID, g.ID) },
		func() error { return tx.SaveParcel(ctx, x) },
		func() error { return tx.SaveCompartment(ctx, c) },
		func() error { return tx.CancelTimers(ctx, x.ID) },
		func() error { return s.deviceGrantEnded(ctx, tx, g, "used") },
	} {
		if err := save(); err != nil {
			return nil, err
		}
	}
	data := map[string]string{"label": c.Label, "by": "recipient"}
	if delegate != "" {
		data["by"], data["delegate"] = "delegate", delegate
	}
	e := &parcelguard.Event{Kind: parcelguard.EventParcelPickedUp, SiteID: x.SiteID,
		CompartmentID: c.ID, ParcelID: x.ID, GrantID: g.ID, Data: data}
	if err := s.appendEvent(ctx, tx, p, e); err != nil {
		return nil, err
	}
	if err := s.notifyPickedUp(ctx, tx, x, g, delegate, e); err != nil {
		return nil, err
	}
	return &PickupResult{ParcelID: x.ID, CompartmentID: c.ID, CompartmentLabel: c.Label}, nil
}

func pickupOutcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, parcelguard.ErrCodeExpired):
		return "expired"
	}
	return parcelguard.ErrorCode(err)
}

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
