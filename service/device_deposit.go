package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/devicemsg"
)

// Offline deposits. A courier about to visit a locker asks for a deposit
// code for a parcel reserved there (IssueDepositCode). The code becomes a
// deposit grant for the reserved compartment; the locker gets it as a
// grant.new like a pickup grant, so the courier can put the parcel in
// while the locker is offline. The locker reports the deposit event; the
// cloud applies it once (applyLockerDeposit), deposits the parcel and only
// then issues the recipient's pickup grant, which reaches the locker in
// turn.

// DepositGrantLifetime is how long a courier's deposit code works: the
// courier's round of the day.
const DepositGrantLifetime = 24 * time.Hour

// depositScope binds a deposit code's hash to its locker and purpose, so it
// never matches a pickup PIN.
func depositScope(siteID string) string { return "deposit|" + siteID }

// codeScope is the hash scope of a grant's code by purpose.
func codeScope(purpose parcelguard.GrantPurpose, siteID string) string {
	if purpose == parcelguard.PurposeDeposit {
		return depositScope(siteID)
	}
	return pickupScope(siteID)
}

// IssueDepositCode gives the courier of a reserved parcel a one-time code
// that opens its reserved compartment at the site's locker agent, online or
// not. The code is returned once and stored only hashed and sealed; asking
// again revokes the earlier code. Couriers (of the parcel's carrier) and
// operators only; the parcel must be reserved at a site with a locker
// agent.
func (s *Service) IssueDepositCode(ctx context.Context, p parcelguard.Principal, parcelID string) (string, *parcelguard.Grant, error) {
	if err := require(p, parcelguard.RoleCourier, parcelguard.RoleOperator); err != nil {
		return "", nil, err
	}
	var (
		pin string
		g   *parcelguard.Grant
	)
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		x, err := visibleParcel(ctx, tx, p, parcelID)
		if err != nil {
			return err
		}
		if x.State != parcelguard.ParcelReserved || x.CompartmentID == "" {
			return fmt.Errorf("parcel is %s, not reserved: %w", x.State, parcelguard.ErrIllegalTransition)
		}
		if _, err := tx.Locker(ctx, x.SiteID); errors.Is(err, parcelguard.ErrNotFound) {
			return parcelguard.Invalid(parcelguard.FieldError{Field: "parcel", Message: "its site has no locker agent; deposit through the courier API"})
		} else if err != nil {
			return err
		}
		old, err := tx.GrantsOfParcel(ctx, x.ID)
		if err != nil {
			return err
		}
		for _, o := range old {
			if o.Purpose == parcelguard.PurposeDeposit && o.State == parcelguard.GrantActive {
				o.End(parcelguard.GrantRevoked)
				if err := tx.SaveGrant(ctx, o); err != nil {
					return err
				}
				if err := s.deviceGrantEnded(ctx, tx, o, "superseded"); err != nil {
					return err
				}
			}
		}
		if pin, g, err = s.newDepositGrant(ctx, tx, x); err != nil {
			return err
		}
		if err := s.deviceGrantIssued(ctx, tx, g); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventDepositCodeIssued, SiteID: x.SiteID,
			CompartmentID: x.CompartmentID, ParcelID: x.ID, GrantID: g.ID,
			Data: map[string]string{"expires_at": g.ExpiresAt.UTC().Format(time.RFC3339)}})
	})
	if err != nil {
		return "", nil, fmt.Errorf("deposit code for %s: %w", parcelID, err)
	}
	return pin, g, nil
}

// newDepositGrant creates a deposit grant with a code no other active
// deposit grant of the site has.
func (s *Service) newDepositGrant(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel) (string, *parcelguard.Grant, error) {
	now := s.clock.Now()
	keyID := s.keys.CurrentID()
	g := &parcelguard.Grant{ID: parcelguard.NewID("grt", now), ParcelID: x.ID, SiteID: x.SiteID, CompartmentID: x.CompartmentID,
		Purpose: parcelguard.PurposeDeposit, State: parcelguard.GrantActive, KeyID: keyID, NotBefore: now,
		ExpiresAt: now.Add(DepositGrantLifetime), CreatedAt: now}
	var pin string
	for draw := 0; ; draw++ {
		if draw == maxPINDraws {
			return "", nil, fmt.Errorf("no unused deposit code at site %s: %w", x.SiteID, errRetryDuplicate)
		}
		var err error
		if pin, err = code.GeneratePIN(); err != nil {
			return "", nil, err
		}
		_, hashes := s.keys.HashAll(depositScope(x.SiteID), pin)
		taken, err := tx.ActiveGrantsByCode(ctx, x.SiteID, parcelguard.PurposeDeposit, hashes)
		if err != nil {
			return "", nil, err
		}
		if len(taken) == 0 {
			g.CodeHash = hashes[0]
			break
		}
	}
	var err error
	if g.CodeSealed, err = s.keys.Seal(keyID, []byte(g.ID), []byte(pin)); err != nil {
		return "", nil, err
	}
	if err := tx.CreateGrant(ctx, g); err != nil {
		if errors.Is(err, parcelguard.ErrDuplicate) {
			return "", nil, fmt.Errorf("create deposit grant: %w", errRetryDuplicate)
		}
		return "", nil, err
	}
	return pin, g, nil
}

// applyLockerDeposit records a deposit the locker let a courier make with a
// deposit grant, possibly offline: the grant is used at the locker's time,
// the parcel is deposited, and in the same transaction the recipient's
// pickup grant is issued (and queued for the locker) and the recipient
// told. The storage period runs from the deposit, but the recipient always
// gets at least parcelguard.MinPickupAfterOutage from now when the report
// comes late. Anything that contradicts the cloud (parcel deposited through
// the API meanwhile, cancelled, moved to another compartment) is an
// alarm.device_conflict for the operator.
func (s *Service) applyLockerDeposit(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, ev devicemsg.Event) error {
	if len(ev.GrantIDs) != 1 {
		return s.rejectDeviceEvent(ctx, tx, p, ev, "grant_count")
	}
	g, err := tx.Grant(ctx, ev.GrantIDs[0])
	switch {
	case errors.Is(err, parcelguard.ErrNotFound):
		return s.rejectDeviceEvent(ctx, tx, p, ev, "unknown_grant")
	case err != nil:
		return err
	case g.SiteID != ev.LockerID:
		return s.rejectDeviceEvent(ctx, tx, p, ev, "foreign_grant")
	case g.Purpose != parcelguard.PurposeDeposit:
		return s.rejectDeviceEvent(ctx, tx, p, ev, "not_a_deposit_grant")
	}
	x, err := tx.Parcel(ctx, g.ParcelID)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	d := deviceData(ev)
	d["via"] = "locker"
	if g.State != parcelguard.GrantActive || x.State != parcelguard.ParcelReserved || x.CompartmentID != g.CompartmentID {
		d["grant_state"], d["parcel_state"] = string(g.State), string(x.State)
		s.log.Warn("locker deposit conflicts with the cloud", "site", ev.LockerID, "grant", g.ID, "grant_state", g.State, "parcel_state", x.State)
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventDeviceConflict, SiteID: ev.LockerID,
			CompartmentID: g.CompartmentID, ParcelID: x.ID, GrantID: g.ID, Data: d})
	}
	g.State, g.UsedAt = parcelguard.GrantUsed, ev.At
	if err := tx.SaveGrant(ctx, g); err != nil {
		return err
	}
	d["deposit_grant"] = g.ID
	return s.placeDeposited(ctx, tx, p, x, ev.At, now.Add(parcelguard.MinPickupAfterOutage), d)
}
