package service

import (
	"context"
	"fmt"

	"github.com/parcelguard/parcelguard"
)

// ReturnQueue lists the expired parcels of a site waiting for a courier to
// collect them for return.
func (s *Service) ReturnQueue(ctx context.Context, p parcelguard.Principal, siteID string) ([]*parcelguard.Parcel, error) {
	return s.Parcels(ctx, p, parcelguard.ParcelFilter{SiteID: siteID, State: parcelguard.ParcelExpired, Limit: 500})
}

// Collect records that a courier took an expired parcel out of its
// compartment for return to the sender; the compartment is free again.
func (s *Service) Collect(ctx context.Context, p parcelguard.Principal, id string) (*parcelguard.Parcel, error) {
	if err := require(p, parcelguard.RoleCourier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var x *parcelguard.Parcel
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if x, err = visibleParcel(ctx, tx, p, id); err != nil {
			return err
		}
		if err := x.Transition(parcelguard.ParcelCollected, s.clock.Now()); err != nil {
			return err
		}
		if err := s.releaseCompartment(ctx, tx, x); err != nil {
			return err
		}
		if err := tx.SaveParcel(ctx, x); err != nil {
			return err
		}
		return s.recordForCarrier(ctx, tx, p, x, &parcelguard.Event{Kind: parcelguard.EventParcelCollected, SiteID: x.SiteID,
			CompartmentID: x.CompartmentID, ParcelID: x.ID}, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("collect %s: %w", id, err)
	}
	return x, nil
}

// MarkReturned records that a collected parcel reached its sender.
func (s *Service) MarkReturned(ctx context.Context, p parcelguard.Principal, id string) (*parcelguard.Parcel, error) {
	if err := require(p, parcelguard.RoleCourier, parcelguard.RoleCarrier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var x *parcelguard.Parcel
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if x, err = visibleParcel(ctx, tx, p, id); err != nil {
			return err
		}
		if err := x.Transition(parcelguard.ParcelReturned, s.clock.Now()); err != nil {
			return err
		}
		if err := tx.SaveParcel(ctx, x); err != nil {
			return err
		}
		return s.recordForCarrier(ctx, tx, p, x, &parcelguard.Event{Kind: parcelguard.EventParcelReturned, SiteID: x.SiteID,
			ParcelID: x.ID}, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("mark %s returned: %w", id, err)
	}
	return x, nil
}

// PickupCode returns the plaintext PIN of a parcel's active pickup grant and
// its deadline. Only the recipient's authenticated channels (the message
// renderer, the tracking page) may call it; transports must never log it.
func (s *Service) PickupCode(ctx context.Context, parcelID string) (pin string, g *parcelguard.Grant, err error) {
	err = s.store.View(ctx, func(tx parcelguard.Tx) error {
		pin, g, err = s.PickupCodeIn(ctx, tx, parcelID)
		return err
	})
	return pin, g, err
}

// PickupCodeIn is PickupCode inside a transaction the caller holds (the
// outbox reads a whole batch's codes in one).
func (s *Service) PickupCodeIn(ctx context.Context, tx parcelguard.Tx, parcelID string) (string, *parcelguard.Grant, error) {
	grants, err := tx.GrantsOfParcel(ctx, parcelID)
	if err != nil {
		return "", nil, fmt.Errorf("pickup code of %s: %w", parcelID, err)
	}
	delegates, err := tx.DelegatesOfParcel(ctx, parcelID)
	if err != nil {
		return "", nil, fmt.Errorf("pickup code of %s: %w", parcelID, err)
	}
	isDelegate := map[string]bool{}
	for _, d := range delegates {
		isDelegate[d.GrantID] = true
	}
	var g *parcelguard.Grant
	for _, cand := range grants {
		if cand.Purpose == parcelguard.PurposePickup && cand.State == parcelguard.GrantActive && !isDelegate[cand.ID] {
			g = cand
		}
	}
	if g == nil {
		return "", nil, fmt.Errorf("pickup code of %s: %w", parcelID, parcelguard.ErrNotFound)
	}
	plain, err := s.keys.Open(g.KeyID, []byte(g.ID), g.CodeSealed)
	if err != nil {
		return "", nil, fmt.Errorf("open sealed code of grant %s: %w", g.ID, err)
	}
	return string(plain), g, nil
}
