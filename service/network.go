package service

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

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
	var mapKey string
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		site, err := tx.Site(ctx, c.SiteID)
		if err != nil {
			return err
		}
		if site.Decommissioned() {
			return errDecommissioned
		}
		if err := tx.CreateCompartment(ctx, &c); err != nil {
			return err
		}
		if err := s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventCompartmentCreated,
			SiteID: c.SiteID, CompartmentID: c.ID, Data: map[string]string{"label": c.Label, "size": string(c.Size)}}); err != nil {
			return err
		}
		// A provisioned locker learns its new door with the same commit.
		mapKey, err = s.queueGrownMap(ctx, tx, c.SiteID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("add compartment to %s: %w", in.SiteID, err)
	}
	if mapKey != "" {
		s.syncedMaps.Store(mapKey, struct{}{})
	}
	return &c, nil
}

// Compartments lists a site's compartments; removed ones are gone from the
// locker and from the list.
func (s *Service) Compartments(ctx context.Context, p parcelguard.Principal, siteID string) ([]*parcelguard.Compartment, error) {
	if err := require(p, parcelguard.RoleOperator, parcelguard.RoleCourier, parcelguard.RoleCarrier); err != nil {
		return nil, err
	}
	var out []*parcelguard.Compartment
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		if _, err := tx.Site(ctx, siteID); err != nil {
			return err
		}
		all, err := tx.Compartments(ctx, siteID)
		out = slices.DeleteFunc(all, func(c *parcelguard.Compartment) bool { return c.State == parcelguard.CompartmentRemoved })
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
		if from == parcelguard.CompartmentRemoved {
			return errRemoved
		}
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

// errRemoved refuses a change to a removed compartment.
var errRemoved = parcelguard.Errorf(parcelguard.ECONFLICT, "the compartment was removed")

// DecommissionSite takes a site out of the network: it is found by no
// search or fallback, takes no new parcels or compartments, and keeps its
// history. It is refused while any compartment holds a parcel or is
// reserved for one, and while parcels are announced or redirected to the
// site: those must be collected, cancelled or redirected first. Doing it
// again changes nothing. Operators and admins only.
func (s *Service) DecommissionSite(ctx context.Context, p parcelguard.Principal, id string) (*parcelguard.Site, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var site *parcelguard.Site
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if site, err = tx.Site(ctx, id); err != nil {
			return err
		}
		if site.Decommissioned() {
			return nil
		}
		cs, err := tx.Compartments(ctx, id)
		if err != nil {
			return err
		}
		var busy []string
		for _, c := range cs {
			if c.ParcelID != "" {
				busy = append(busy, c.Label)
			}
		}
		if len(busy) > 0 {
			return parcelguard.Errorf(parcelguard.ECONFLICT,
				"compartments %s hold or are reserved for parcels; collect or redirect them before decommissioning the site",
				strings.Join(busy, ", "))
		}
		for _, state := range []parcelguard.ParcelState{parcelguard.ParcelAnnounced, parcelguard.ParcelRedirected} {
			waiting, err := tx.Parcels(ctx, parcelguard.ParcelFilter{SiteID: id, State: state, Limit: 1})
			if err != nil {
				return err
			}
			if len(waiting) > 0 {
				return parcelguard.Errorf(parcelguard.ECONFLICT,
					"parcels are %s to this site (such as %s); redirect or cancel them before decommissioning it",
					state, waiting[0].TrackingNumber)
			}
		}
		site.DecommissionedAt = s.clock.Now()
		if err := tx.SaveSite(ctx, site); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventSiteDecommissioned, SiteID: site.ID,
			Data: map[string]string{"name": site.Name, "compartments": strconv.Itoa(len(cs))}})
	})
	if err != nil {
		return nil, fmt.Errorf("decommission site %s: %w", id, err)
	}
	return site, nil
}

// RemoveCompartment takes a compartment out of its locker for good: it
// takes no parcels and leaves the site's list, while parcels and events
// that name it keep doing so (its label stays taken). It is refused while
// the compartment holds a parcel or is reserved for one. Removing it again
// changes nothing. Operators and admins only.
func (s *Service) RemoveCompartment(ctx context.Context, p parcelguard.Principal, id string) (*parcelguard.Compartment, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var c *parcelguard.Compartment
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if c, err = tx.Compartment(ctx, id); err != nil {
			return err
		}
		from := c.State
		if from == parcelguard.CompartmentRemoved {
			return nil
		}
		if c.ParcelID != "" {
			return parcelguard.Errorf(parcelguard.ECONFLICT,
				"compartment %s is %s for a parcel; it can be removed once the parcel has left it", c.Label, c.State)
		}
		c.State = parcelguard.CompartmentRemoved
		if err := tx.SaveCompartment(ctx, c); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventCompartmentRemoved, SiteID: c.SiteID,
			CompartmentID: c.ID, Data: map[string]string{"label": c.Label, "from": string(from)}})
	})
	if err != nil {
		return nil, fmt.Errorf("remove compartment %s: %w", id, err)
	}
	return c, nil
}
