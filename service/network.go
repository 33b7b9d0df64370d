package service

import (
	"context"
	"fmt"
	"strconv"

	"github.com/parcelguard/parcelguard"
)

// CreateSite adds a locker site.
func (s *Service) CreateSite(ctx context.Context, p parcelguard.Principal, in parcelguard.Site) (*parcelguard.Site, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	site := in
	site.CreatedAt = s.clock.Now()
	site.ID = parcelguard.NewID("site", site.CreatedAt)
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		if err := tx.CreateSite(ctx, &site); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventSiteCreated, SiteID: site.ID,
			Data: map[string]string{"name": site.Name}})
	})
	if err != nil {
		return nil, fmt.Errorf("create site: %w", err)
	}
	return &site, nil
}

// Site returns a site; any authenticated caller may read sites.
func (s *Service) Site(ctx context.Context, p parcelguard.Principal, id string) (*parcelguard.Site, error) {
	if p.Role == "" {
		return nil, parcelguard.ErrUnauthorized
	}
	var site *parcelguard.Site
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		site, err = tx.Site(ctx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", id, err)
	}
	return site, nil
}

// AddCompartment adds a compartment to a site. Zero dimensions default to the
// standard ones of the size class.
func (s *Service) AddCompartment(ctx context.Context, p parcelguard.Principal, in parcelguard.Compartment) (*parcelguard.Compartment, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	c := in
	if c.WidthMM == 0 && c.HeightMM == 0 && c.DepthMM == 0 {
		c.Dimensions = c.Size.StandardDimensions()
	}
	now := s.clock.Now()
	c.ID = parcelguard.NewID("cmp", now)
	c.State, c.ParcelID = parcelguard.CompartmentFree, ""
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		if _, err := tx.Site(ctx, c.SiteID); err != nil {
			return err
		}
		if err := tx.CreateCompartment(ctx, &c); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventCompartmentCreated,
			SiteID: c.SiteID, CompartmentID: c.ID, Data: map[string]string{"label": c.Label, "size": string(c.Size)}})
	})
	if err != nil {
		return nil, fmt.Errorf("add compartment to %s: %w", in.SiteID, err)
	}
	return &c, nil
}

// Compartments lists a site's compartments.
func (s *Service) Compartments(ctx context.Context, p parcelguard.Principal, siteID string) ([]*parcelguard.Compartment, error) {
	if err := require(p, parcelguard.RoleOperator, parcelguard.RoleCourier, parcelguard.RoleCarrier); err != nil {
		return nil, err
	}
	var out []*parcelguard.Compartment
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		if _, err := tx.Site(ctx, siteID); err != nil {
			return err
		}
		out, err = tx.Compartments(ctx, siteID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("compartments of %s: %w", siteID, err)
	}
	return out, nil
}

// SetCompartmentState blocks, unblocks or marks a compartment out of order.
// A compartment holding a parcel keeps it; it only stops taking new ones.
func (s *Service) SetCompartmentState(ctx context.Context, p parcelguard.Principal, id string, to parcelguard.CompartmentState) (*parcelguard.Compartment, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	switch to {
	case parcelguard.CompartmentBlocked, parcelguard.CompartmentOutOfOrder, parcelguard.CompartmentFree:
	default:
		return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "state", Message: "must be free, blocked or out_of_order"})
	}
	var c *parcelguard.Compartment
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if c, err = tx.Compartment(ctx, id); err != nil {
			return err
		}
		from := c.State
		if c.ParcelID != "" {
			return fmt.Errorf("compartment holds parcel %s: %w", c.ParcelID, parcelguard.ErrCompartmentBusy)
		}
		c.State = to
		if err := tx.SaveCompartment(ctx, c); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventCompartmentChanged,
			SiteID: c.SiteID, CompartmentID: c.ID, Data: map[string]string{"from": string(from), "to": string(to)}})
	})
	if err != nil {
		return nil, fmt.Errorf("set compartment %s %s: %w", id, to, err)
	}
	return c, nil
}

// CreateCarrier adds a carrier. The phone second factor is on unless the
// caller turns it off explicitly.
func (s *Service) CreateCarrier(ctx context.Context, p parcelguard.Principal, in parcelguard.Carrier) (*parcelguard.Carrier, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	c := in
	c.CreatedAt = s.clock.Now()
	c.ID = parcelguard.NewID("car", c.CreatedAt)
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		if err := tx.CreateCarrier(ctx, &c); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventCarrierCreated,
			Data: map[string]string{"carrier_id": c.ID, "name": c.Name, "phone_factor": strconv.FormatBool(c.PhoneFactor)}})
	})
	if err != nil {
		return nil, fmt.Errorf("create carrier: %w", err)
	}
	return &c, nil
}
