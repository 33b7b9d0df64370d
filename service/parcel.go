package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/parcelguard/parcelguard"
)

// Announce registers a parcel a carrier is about to hand over. Carriers
// announce their own parcels; admins and operators name the carrier.
func (s *Service) Announce(ctx context.Context, p parcelguard.Principal, in parcelguard.Parcel) (*parcelguard.Parcel, error) {
	if err := require(p, parcelguard.RoleCarrier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if p.Role == parcelguard.RoleCarrier {
		in.CarrierID = p.CarrierID
	}
	if in.Mode == "" {
		in.Mode = parcelguard.HandoverLocker
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.CarrierID == "" {
		return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "carrier_id", Message: "is required"})
	}
	x := in
	now := s.clock.Now()
	x.ID = parcelguard.NewID("par", now)
	x.State, x.CompartmentID, x.Deadline = parcelguard.ParcelAnnounced, "", x.Deadline.UTC()
	x.CreatedAt, x.UpdatedAt = now, now
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		x.SiteID = in.SiteID // fn may re-run after an assignment moved x
		if _, err := tx.Carrier(ctx, x.CarrierID); err != nil {
			return fieldNotFound("carrier_id", err)
		}
		if x.SiteID != "" {
			site, err := tx.Site(ctx, x.SiteID)
			if err != nil {
				return fieldNotFound("site_id", err)
			}
			if site.Decommissioned() {
				return errDecommissioned
			}
		}
		// The full-locker fallback at announce: only a carrier that asked
		// for a proposal or an assignment hears of a full locker now; the
		// others find out at reserve time, when room may have come free.
		var moveTo *parcelguard.Site
		var dist float64
		if x.Mode == parcelguard.HandoverLocker {
			if moveTo, dist, err = s.announceFallback(ctx, tx, &x); err != nil {
				return err
			}
		}
		if err := tx.CreateParcel(ctx, &x); err != nil {
			return err
		}
		if err := s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventParcelAnnounced, SiteID: x.SiteID,
			ParcelID: x.ID, Data: map[string]string{"tracking_number": x.TrackingNumber, "mode": string(x.Mode), "size": string(x.Size)}}); err != nil {
			return err
		}
		if moveTo == nil {
			return nil
		}
		// Assigned to the nearest locker with room: record the move and
		// tell the recipient where to go.
		if err := s.moveParcel(ctx, tx, p, &x, moveTo, "locker_full", dist); err != nil {
			return err
		}
		return tx.SaveParcel(ctx, &x)
	})
	if err != nil {
		return nil, fmt.Errorf("announce %s: %w", in.TrackingNumber, err)
	}
	return &x, nil
}

// announceFallback checks the chosen locker of a parcel being announced.
// Only a carrier that asked for a proposal or an assignment hears of a full
// locker now (a proposal refuses the announcement); everyone else finds
// out at reserve time, when room may have come free. It returns the locker
// to assign the parcel to, or nil to keep the chosen one.
func (s *Service) announceFallback(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel) (*parcelguard.Site, float64, error) {
	_, err := tx.FreeCompartment(ctx, x.SiteID, x.Size)
	if !errors.Is(err, parcelguard.ErrNoFreeCompartment) {
		return nil, 0, err
	}
	to, dist, _, err := s.fallback(ctx, tx, x)
	var proposal *FullLockerError
	switch {
	case errors.As(err, &proposal):
		return nil, 0, err
	case err != nil && errors.Is(err, parcelguard.ErrNoFreeCompartment):
		return nil, 0, nil // nothing in reach: announce as asked
	}
	return to, dist, err
}

// fieldNotFound turns a missing referenced thing into an invalid field.
func fieldNotFound(field string, err error) error {
	if parcelguard.ErrorCode(err) == parcelguard.ENOTFOUND {
		return parcelguard.Invalid(parcelguard.FieldError{Field: field, Message: "does not exist"})
	}
	return err
}

// Parcel returns a parcel the caller may see, else ErrNotFound.
func (s *Service) Parcel(ctx context.Context, p parcelguard.Principal, id string) (*parcelguard.Parcel, error) {
	if err := require(p, parcelguard.RoleCarrier, parcelguard.RoleCourier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var x *parcelguard.Parcel
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		x, err = visibleParcel(ctx, tx, p, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("parcel %s: %w", id, err)
	}
	return x, nil
}

// visibleParcel loads a parcel and hides it from callers who may not see it.
func visibleParcel(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, id string) (*parcelguard.Parcel, error) {
	x, err := tx.Parcel(ctx, id)
	if err != nil {
		return nil, err
	}
	if !canSeeParcel(p, x) {
		return nil, parcelguard.ErrNotFound
	}
	return x, nil
}

// Parcels lists parcels the caller may see; carrier-bound callers see only
// their own carrier's.
func (s *Service) Parcels(ctx context.Context, p parcelguard.Principal, f parcelguard.ParcelFilter) ([]*parcelguard.Parcel, error) {
	if err := require(p, parcelguard.RoleCarrier, parcelguard.RoleCourier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if p.Role == parcelguard.RoleCarrier || p.Role == parcelguard.RoleCourier {
		f.CarrierID = p.CarrierID
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var out []*parcelguard.Parcel
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		out, err = tx.Parcels(ctx, f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list parcels: %w", err)
	}
	return out, nil
}

// ParcelEvents returns the audit history of a parcel the caller may see.
func (s *Service) ParcelEvents(ctx context.Context, p parcelguard.Principal, id string) ([]*parcelguard.Event, error) {
	if err := require(p, parcelguard.RoleCarrier, parcelguard.RoleCourier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var out []*parcelguard.Event
	err := s.store.View(ctx, func(tx parcelguard.Tx) error {
		if _, err := visibleParcel(ctx, tx, p, id); err != nil {
			return err
		}
		var err error
		out, err = tx.Events(ctx, parcelguard.EventFilter{ParcelID: id, Limit: 1000})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("events of parcel %s: %w", id, err)
	}
	return out, nil
}

// Reserve holds the smallest free compartment that fits the parcel at its
// locker.
func (s *Service) Reserve(ctx context.Context, p parcelguard.Principal, id string) (*parcelguard.Parcel, error) {
	if err := require(p, parcelguard.RoleCarrier, parcelguard.RoleCourier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var x *parcelguard.Parcel
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if x, err = visibleParcel(ctx, tx, p, id); err != nil {
			return err
		}
		if x.Mode != parcelguard.HandoverLocker {
			return fmt.Errorf("doorstep parcel: %w", parcelguard.ErrIllegalTransition)
		}
		if err := x.Transition(parcelguard.ParcelReserved, s.clock.Now()); err != nil {
			return err
		}
		c, err := tx.FreeCompartment(ctx, x.SiteID, x.Size)
		if errors.Is(err, parcelguard.ErrNoFreeCompartment) {
			c, err = s.fullLocker(ctx, tx, p, x)
		}
		if err != nil {
			return err
		}
		if err := c.Reserve(x.ID); err != nil {
			return err
		}
		x.CompartmentID = c.ID
		if err := tx.SaveCompartment(ctx, c); err != nil {
			return err
		}
		if err := tx.SaveParcel(ctx, x); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventParcelReserved, SiteID: x.SiteID,
			CompartmentID: c.ID, ParcelID: x.ID, Data: map[string]string{"label": c.Label, "size": string(c.Size)}})
	})
	if err != nil {
		return nil, fmt.Errorf("reserve for parcel %s: %w", id, err)
	}
	return x, nil
}

// Cancel withdraws a parcel that has not been handed over yet and frees its
// reservation.
func (s *Service) Cancel(ctx context.Context, p parcelguard.Principal, id string) (*parcelguard.Parcel, error) {
	if err := require(p, parcelguard.RoleCarrier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var x *parcelguard.Parcel
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if x, err = visibleParcel(ctx, tx, p, id); err != nil {
			return err
		}
		if err := x.Transition(parcelguard.ParcelCancelled, s.clock.Now()); err != nil {
			return err
		}
		if err := s.releaseCompartment(ctx, tx, x); err != nil {
			return err
		}
		if err := tx.SaveParcel(ctx, x); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventParcelCancelled, SiteID: x.SiteID, ParcelID: x.ID})
	})
	if err != nil {
		return nil, fmt.Errorf("cancel parcel %s: %w", id, err)
	}
	return x, nil
}

// releaseCompartment frees the compartment reserved for or holding x.
func (s *Service) releaseCompartment(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel) error {
	if x.CompartmentID == "" {
		return nil
	}
	c, err := tx.Compartment(ctx, x.CompartmentID)
	if err != nil {
		return err
	}
	c.Release(x.ID)
	return tx.SaveCompartment(ctx, c)
}
