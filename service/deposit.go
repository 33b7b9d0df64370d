package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
)

// Deposit records that a courier put a parcel into its reserved compartment.
// In the same transaction it issues the recipient's one-time pickup grant and
// schedules the expiry and reminder timers. The courier learns nothing
// secret: the PIN reaches only the recipient.
func (s *Service) Deposit(ctx context.Context, p parcelguard.Principal, id string) (*parcelguard.Parcel, error) {
	if err := require(p, parcelguard.RoleCourier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var x *parcelguard.Parcel
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if x, err = visibleParcel(ctx, tx, p, id); err != nil {
			return err
		}
		now := s.clock.Now()
		return s.placeDeposited(ctx, tx, p, x, now, now, map[string]string{})
	})
	if err != nil {
		return nil, fmt.Errorf("deposit %s: %w", id, err)
	}
	return x, nil
}

// placeDeposited is the deposit proper, shared by a courier's deposit
// through the API and one a locker reports: the reserved parcel goes into
// its compartment, its storage period runs from at (but never ends before
// notBefore), and it gets its pickup grant, timers, event (with data) and
// notices.
func (s *Service) placeDeposited(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, x *parcelguard.Parcel,
	at, notBefore time.Time, data map[string]string) error {
	if err := x.Transition(parcelguard.ParcelDeposited, s.clock.Now()); err != nil {
		return err
	}
	c, err := tx.Compartment(ctx, x.CompartmentID)
	if err != nil {
		return err
	}
	if err := c.Occupy(x.ID); err != nil {
		return err
	}
	site, err := tx.Site(ctx, x.SiteID)
	if err != nil {
		return err
	}
	carrier, err := tx.Carrier(ctx, x.CarrierID)
	if err != nil {
		return err
	}
	x.Deadline = at.Add(parcelguard.StoragePeriod(site, carrier))
	if x.Deadline.Before(notBefore) {
		x.Deadline = notBefore
	}
	g, err := s.issuePickupGrant(ctx, tx, x, carrier)
	if err != nil {
		return err
	}
	if err := tx.SaveCompartment(ctx, c); err != nil {
		return err
	}
	if err := tx.SaveParcel(ctx, x); err != nil {
		return err
	}
	if err := s.scheduleStorageTimers(ctx, tx, x); err != nil {
		return err
	}
	data["label"], data["deadline"] = c.Label, x.Deadline.Format(time.RFC3339)
	e := &parcelguard.Event{Kind: parcelguard.EventParcelDeposited, SiteID: x.SiteID, CompartmentID: c.ID, ParcelID: x.ID,
		GrantID: g.ID, Data: data}
	if err := s.appendEvent(ctx, tx, p, e); err != nil {
		return err
	}
	return s.notifyDeposited(ctx, tx, x, g, e)
}

// maxPINDraws bounds the search for a PIN not in use at the locker. With
// the locker's active grants a tiny fraction of 10^6, a collision is rare
// and twenty in a row means something is wrong.
const maxPINDraws = 20

// issuePickupGrant creates the parcel's pickup grant with a fresh PIN that
// no other active pickup grant of the locker has (SECURITY.md 2). It stores
// the PIN only as a keyed hash and sealed for the recipient (SECURITY.md 4).
func (s *Service) issuePickupGrant(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, carrier *parcelguard.Carrier) (*parcelguard.Grant, error) {
	now := s.clock.Now()
	keyID := s.keys.CurrentID()
	g := &parcelguard.Grant{
		ID:            parcelguard.NewID("grt", now),
		ParcelID:      x.ID,
		SiteID:        x.SiteID,
		CompartmentID: x.CompartmentID,
		Purpose:       parcelguard.PurposePickup,
		State:         parcelguard.GrantActive,
		KeyID:         keyID,
		NotBefore:     now,
		ExpiresAt:     x.Deadline,
		CreatedAt:     now,
	}
	var pin string
	for draw := 0; ; draw++ {
		if draw == maxPINDraws {
			return nil, fmt.Errorf("no unused PIN at site %s after %d draws: %w", x.SiteID, draw, errRetryDuplicate)
		}
		var err error
		if pin, err = code.GeneratePIN(); err != nil {
			return nil, err
		}
		_, hashes := s.keys.HashAll(pickupScope(x.SiteID), pin)
		taken, err := tx.ActiveGrantsByCode(ctx, x.SiteID, parcelguard.PurposePickup, hashes)
		if err != nil {
			return nil, err
		}
		if len(taken) == 0 {
			g.CodeHash = hashes[0]
			break
		}
	}
	var err error
	if carrier.PhoneFactor {
		if g.PhoneHash, err = s.keys.Hash(keyID, phoneScope(g.ID), x.Recipient.PhoneDigits(parcelguard.PhoneFactorDigits)); err != nil {
			return nil, err
		}
	}
	if g.CodeSealed, err = s.keys.Seal(keyID, []byte(g.ID), []byte(pin)); err != nil {
		return nil, err
	}
	if err := tx.CreateGrant(ctx, g); err != nil {
		if errors.Is(err, parcelguard.ErrDuplicate) {
			// Another transaction took the same PIN between our check and insert.
			return nil, fmt.Errorf("create grant: %w", errRetryDuplicate)
		}
		return nil, err
	}
	if err := s.deviceGrantIssued(ctx, tx, g); err != nil {
		return nil, err
	}
	return g, nil
}

// pickupScope binds a pickup PIN's hash to its locker, so a PIN means
// nothing at any other locker.
func pickupScope(siteID string) string { return "pickup|" + siteID }

// phoneScope binds the phone-digits hash to one grant.
func phoneScope(grantID string) string { return "phone|" + grantID }

// scheduleStorageTimers sets the expiry timer at the deadline and the
// reminder before it (unless the storage period is too short for one).
func (s *Service) scheduleStorageTimers(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel) error {
	now := s.clock.Now()
	if err := tx.ScheduleTimer(ctx, &parcelguard.Timer{ID: parcelguard.NewID("tmr", now), Kind: parcelguard.TimerExpiry,
		ParcelID: x.ID, DueAt: x.Deadline}); err != nil {
		return err
	}
	remind := x.Deadline.Add(-parcelguard.ReminderLead)
	if !remind.After(now) {
		return tx.CancelTimers(ctx, x.ID, parcelguard.TimerReminder)
	}
	return tx.ScheduleTimer(ctx, &parcelguard.Timer{ID: parcelguard.NewID("tmr", now), Kind: parcelguard.TimerReminder,
		ParcelID: x.ID, DueAt: remind})
}
