package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/parcelguard/parcelguard"
)

// SiteProposal names the locker a full-locker fallback proposes.
type SiteProposal struct {
	SiteID    string
	Name      string
	Address   string
	DistanceM float64
}

// FullLockerError refuses a reservation at a full locker and proposes the
// nearest one with room (carrier policy "propose"). It matches
// parcelguard.ErrNoFreeCompartment; transports show the proposal.
type FullLockerError struct {
	Proposal SiteProposal
}

func (e *FullLockerError) Error() string {
	return fmt.Sprintf("no free compartment; nearest locker with room is %s (%.0f m)", e.Proposal.SiteID, e.Proposal.DistanceM)
}

// Unwrap makes the error match parcelguard.ErrNoFreeCompartment.
func (e *FullLockerError) Unwrap() error { return parcelguard.ErrNoFreeCompartment }

// fallback finds where x may go instead of its full locker under its
// carrier's policy (the full-locker fallback): for "assign" the nearest
// locker with room within the carrier's distance, its distance and a free
// compartment there; for "propose" a *FullLockerError naming that locker;
// for "reject", or when no locker in reach has room, an error matching
// parcelguard.ErrNoFreeCompartment.
func (s *Service) fallback(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel) (*parcelguard.Site, float64, *parcelguard.Compartment, error) {
	pol, err := tx.CarrierPolicy(ctx, x.CarrierID)
	if err != nil {
		return nil, 0, nil, err
	}
	full := fmt.Errorf("locker %s: %w", x.SiteID, parcelguard.ErrNoFreeCompartment)
	if pol.Fallback == parcelguard.FallbackReject || pol.MaxDistanceM <= 0 {
		return nil, 0, nil, full
	}
	site, err := tx.Site(ctx, x.SiteID)
	if err != nil {
		return nil, 0, nil, err
	}
	near, c, err := nearestFreeSite(ctx, tx, site.Lat, site.Lon, x.Size, float64(pol.MaxDistanceM), site.ID)
	if errors.Is(err, parcelguard.ErrNoFreeCompartment) {
		return nil, 0, nil, full
	}
	if err != nil {
		return nil, 0, nil, err
	}
	if pol.Fallback == parcelguard.FallbackPropose {
		return nil, 0, nil, &FullLockerError{Proposal: SiteProposal{SiteID: near.Site.ID, Name: near.Site.Name,
			Address: near.Site.Address, DistanceM: near.DistanceM}}
	}
	return near.Site, near.DistanceM, c, nil
}

// fullLocker applies the fallback to x at reserve time: with "assign" it
// moves x to the nearest locker with room (event, recipient told) and
// returns a free compartment there; otherwise fallback's error.
func (s *Service) fullLocker(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, x *parcelguard.Parcel) (*parcelguard.Compartment, error) {
	to, dist, c, err := s.fallback(ctx, tx, x)
	if err != nil {
		return nil, err
	}
	if err := s.moveParcel(ctx, tx, p, x, to, "locker_full", dist); err != nil {
		return nil, err
	}
	return c, nil
}

// moveParcel points x (not yet deposited, its reservation released) at
// another locker, records it and tells the recipient where to go and the
// carrier what happened. It does not save x.
func (s *Service) moveParcel(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, x *parcelguard.Parcel,
	to *parcelguard.Site, reason string, distanceM float64) error {
	from := x.SiteID
	x.SiteID, x.CompartmentID, x.UpdatedAt = to.ID, "", s.clock.Now()
	data := map[string]string{"from_site": from, "to_site": to.ID, "reason": reason}
	if distanceM > 0 {
		data["distance_m"] = strconv.FormatFloat(distanceM, 'f', 0, 64)
	}
	e := &parcelguard.Event{Kind: parcelguard.EventParcelRedirected, SiteID: to.ID, ParcelID: x.ID, Data: data}
	if err := s.appendEvent(ctx, tx, p, e); err != nil {
		return err
	}
	cause := x.ID + ":" + to.ID + ":" + strconv.FormatInt(s.clock.Now().UnixNano(), 10)
	if err := s.notifyRecipient(ctx, tx, x, parcelguard.MessageRedirected, cause, "",
		map[string]string{"from_site": from, "reason": reason}); err != nil {
		return err
	}
	return s.notifyCarrier(ctx, tx, x, e, map[string]string{"from_site": from, "reason": reason})
}

// redirectable says why x cannot go to another locker now, or nil: only a
// locker parcel not yet deposited can.
func redirectable(x *parcelguard.Parcel) error {
	if x.Mode != parcelguard.HandoverLocker {
		return parcelguard.Errorf(parcelguard.ECONFLICT, "only a locker parcel can be redirected to another locker")
	}
	switch x.State {
	case parcelguard.ParcelAnnounced, parcelguard.ParcelReserved, parcelguard.ParcelRedirected:
		return nil
	}
	return parcelguard.Errorf(parcelguard.ECONFLICT, "a parcel can be redirected only before it is deposited")
}

// Redirect sends a parcel that is not deposited yet to another locker: its
// reservation ends, it waits for a compartment at the new locker, and the
// recipient is told. Carriers (their own parcels), operators and admins.
func (s *Service) Redirect(ctx context.Context, p parcelguard.Principal, id, siteID string) (*parcelguard.Parcel, error) {
	if err := require(p, parcelguard.RoleCarrier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var x *parcelguard.Parcel
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if x, err = visibleParcel(ctx, tx, p, id); err != nil {
			return err
		}
		return s.redirect(ctx, tx, p, x, siteID, "carrier")
	})
	if err != nil {
		return nil, fmt.Errorf("redirect %s: %w", id, err)
	}
	return x, nil
}

// RedirectByRecipient is Redirect for the recipient of a magic link.
func (s *Service) RedirectByRecipient(ctx context.Context, a *RecipientAccess, siteID string) (*parcelguard.Parcel, error) {
	if err := checkAccess(a); err != nil {
		return nil, err
	}
	var x *parcelguard.Parcel
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if x, err = tx.Parcel(ctx, a.parcelID); err != nil {
			return err
		}
		return s.redirect(ctx, tx, a.principal(), x, siteID, "recipient")
	})
	if err != nil {
		return nil, fmt.Errorf("redirect %s: %w", a.parcelID, err)
	}
	return x, nil
}

// redirect is the transaction of Redirect and RedirectByRecipient.
func (s *Service) redirect(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, x *parcelguard.Parcel, siteID, by string) error {
	if siteID == "" {
		return parcelguard.Invalid(parcelguard.FieldError{Field: "site_id", Message: "is required"})
	}
	if err := redirectable(x); err != nil {
		return err
	}
	to, err := tx.Site(ctx, siteID)
	if err != nil {
		return fieldNotFound("site_id", err)
	}
	if to.Decommissioned() {
		return errDecommissioned
	}
	if to.ID == x.SiteID {
		return parcelguard.Invalid(parcelguard.FieldError{Field: "site_id", Message: "is already the parcel's locker"})
	}
	if err := s.releaseCompartment(ctx, tx, x); err != nil {
		return err
	}
	if x.State != parcelguard.ParcelRedirected {
		if err := x.Transition(parcelguard.ParcelRedirected, s.clock.Now()); err != nil {
			return err
		}
	}
	if err := s.moveParcel(ctx, tx, p, x, to, "requested_by_"+by, 0); err != nil {
		return err
	}
	return tx.SaveParcel(ctx, x)
}
