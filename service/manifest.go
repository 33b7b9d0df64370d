package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parcelguard/parcelguard"
)

// ManifestStop is one locker on a courier's round: the parcels to deposit
// there and the expired ones to collect for return.
type ManifestStop struct {
	Site     *parcelguard.Site
	Deposits []*parcelguard.Parcel
	Returns  []*parcelguard.Parcel
}

// Manifest is a courier's work for a day.
type Manifest struct {
	// Day is the UTC date when the manifest was made (its midnight); the
	// doorstep part goes by each delivery's own date.
	Day time.Time
	// Lockers are the locker stops in site id order.
	Lockers []ManifestStop
	// Doorstep are the doorstep deliveries due today in their own
	// recipients' zones (todaysStops), whatever the date in UTC.
	Doorstep []DoorstepStop
}

// manifestPageSize bounds each read while assembling a manifest.
const manifestPageSize = 500

// manifestLimit bounds how many parcels of one kind a manifest lists.
const manifestLimit = 5000

// CourierManifest returns today's work for the caller's carrier: parcels
// waiting to be deposited (announced, reserved or redirected, and doorstep
// parcels redirected to a locker), grouped per locker, the expired parcels
// to collect there, and the doorstep deliveries due today where they are.
// Couriers and carriers see their carrier's; operators every carrier's.
func (s *Service) CourierManifest(ctx context.Context, p parcelguard.Principal) (*Manifest, error) {
	if err := require(p, parcelguard.RoleCourier, parcelguard.RoleCarrier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	now := s.clock.Now().UTC()
	m := &Manifest{Day: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)}
	carrier := ""
	if p.Role == parcelguard.RoleCourier || p.Role == parcelguard.RoleCarrier {
		carrier = p.CarrierID
	}
	err := s.store.View(ctx, func(tx parcelguard.Tx) error {
		stops := map[string]*ManifestStop{}
		stop := func(siteID string) (*ManifestStop, error) {
			if st, ok := stops[siteID]; ok {
				return st, nil
			}
			site, err := tx.Site(ctx, siteID)
			if err != nil {
				return nil, err
			}
			st := &ManifestStop{Site: site}
			stops[siteID] = st
			return st, nil
		}
		// A doorstep parcel redirected to a locker after its last attempt
		// has a compartment reserved there: it is a deposit like a locker
		// parcel's, and once expired there a return like one.
		states := []parcelguard.ParcelState{parcelguard.ParcelAnnounced, parcelguard.ParcelReserved,
			parcelguard.ParcelRedirected, parcelguard.ParcelRedirectedToLocker, parcelguard.ParcelExpired}
		for _, state := range states {
			err := eachParcel(ctx, tx, parcelguard.ParcelFilter{CarrierID: carrier, State: state}, func(x *parcelguard.Parcel) error {
				if x.SiteID == "" || x.Mode == parcelguard.HandoverDoorstep &&
					state != parcelguard.ParcelRedirectedToLocker && state != parcelguard.ParcelExpired {
					return nil
				}
				st, err := stop(x.SiteID)
				if err != nil {
					return err
				}
				if state == parcelguard.ParcelExpired {
					st.Returns = append(st.Returns, x)
				} else {
					st.Deposits = append(st.Deposits, x)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		for _, st := range stops {
			m.Lockers = append(m.Lockers, *st)
		}
		slices.SortFunc(m.Lockers, func(a, b ManifestStop) int {
			switch {
			case a.Site.ID < b.Site.ID:
				return -1
			case a.Site.ID > b.Site.ID:
				return 1
			}
			return 0
		})
		var err error
		m.Doorstep, err = todaysStops(ctx, tx, p, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("courier manifest: %w", err)
	}
	return m, nil
}

// eachParcel calls fn for every parcel the filter selects, page by page,
// up to manifestLimit.
func eachParcel(ctx context.Context, tx parcelguard.Tx, f parcelguard.ParcelFilter, fn func(*parcelguard.Parcel) error) error {
	f.Limit = manifestPageSize
	for seen := 0; seen < manifestLimit; {
		page, err := tx.Parcels(ctx, f)
		if err != nil {
			return err
		}
		for _, x := range page {
			if err := fn(x); err != nil {
				return err
			}
		}
		seen += len(page)
		if len(page) < f.Limit {
			return nil
		}
		f.After = page[len(page)-1].ID
	}
	return nil
}

// MaxProblemReason bounds the text of a compartment problem report.
const MaxProblemReason = 500

// ReportCompartmentProblem is a courier's "this door does not work" for the
// compartment reserved for a parcel: the compartment goes out of order
// with the reason (audited) and the parcel gets another free fitting
// compartment at the same locker. With none left there, the carrier's
// full-locker policy applies: "assign" moves the parcel to the nearest
// locker with room; otherwise the parcel waits in state redirected for a
// new reservation or redirect, and the answer is ErrNoFreeCompartment (a
// *FullLockerError with a proposal under "propose"); the out-of-order
// report is kept either way.
func (s *Service) ReportCompartmentProblem(ctx context.Context, p parcelguard.Principal, parcelID, reason string) (*parcelguard.Parcel, error) {
	if err := require(p, parcelguard.RoleCourier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if reason == "" || len(reason) > MaxProblemReason {
		return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "reason", Message: "must be 1 to 500 characters"})
	}
	var (
		x       *parcelguard.Parcel
		outcome error
	)
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		outcome = nil
		if x, err = visibleParcel(ctx, tx, p, parcelID); err != nil {
			return err
		}
		if x.State != parcelguard.ParcelReserved || x.CompartmentID == "" {
			return parcelguard.Errorf(parcelguard.ECONFLICT, "only the compartment reserved for a parcel can be reported")
		}
		broken, err := tx.Compartment(ctx, x.CompartmentID)
		if err != nil {
			return err
		}
		from := broken.State
		broken.Release(x.ID)
		broken.State = parcelguard.CompartmentOutOfOrder
		if err := tx.SaveCompartment(ctx, broken); err != nil {
			return err
		}
		if err := s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventCompartmentFaulty, SiteID: broken.SiteID,
			CompartmentID: broken.ID, ParcelID: x.ID,
			Data: map[string]string{"from": string(from), "to": string(broken.State), "reason": reason, "label": broken.Label}}); err != nil {
			return err
		}
		x.CompartmentID = ""
		c, err := tx.FreeCompartment(ctx, x.SiteID, x.Size)
		if errors.Is(err, parcelguard.ErrNoFreeCompartment) {
			c, err = s.fullLocker(ctx, tx, p, x)
			if errors.Is(err, parcelguard.ErrNoFreeCompartment) {
				// Keep the report; the parcel waits for a new reservation.
				outcome = err
				if err := x.Transition(parcelguard.ParcelRedirected, s.clock.Now()); err != nil {
					return err
				}
				if err := s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventParcelRedirected, SiteID: x.SiteID,
					ParcelID: x.ID, Data: map[string]string{"from_site": x.SiteID, "to_site": x.SiteID, "reason": "no_free_compartment"}}); err != nil {
					return err
				}
				return tx.SaveParcel(ctx, x)
			}
		}
		if err != nil {
			return err
		}
		if err := c.Reserve(x.ID); err != nil {
			return err
		}
		x.CompartmentID, x.UpdatedAt = c.ID, s.clock.Now()
		if err := tx.SaveCompartment(ctx, c); err != nil {
			return err
		}
		if err := tx.SaveParcel(ctx, x); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventParcelReserved, SiteID: x.SiteID,
			CompartmentID: c.ID, ParcelID: x.ID, Data: map[string]string{"label": c.Label, "size": string(c.Size), "replaces": broken.ID}})
	})
	if err != nil {
		return nil, fmt.Errorf("report problem with compartment of %s: %w", parcelID, err)
	}
	if outcome != nil {
		return nil, outcome
	}
	return x, nil
}
