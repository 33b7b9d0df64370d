package service

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Precondition says which versions of a thing a change may apply to, so
// that two operators editing the same thing cannot silently overwrite each
// other (the lost update). The zero value names none, and is refused.
type Precondition struct {
	// Any applies the change to whatever version is current.
	Any bool
	// Versions are the versions the change may apply to.
	Versions []int64
}

// check refuses a change to version v that p does not allow.
func (p Precondition) check(v int64) error {
	if p.Any {
		return nil
	}
	if len(p.Versions) == 0 {
		return parcelguard.ErrVersionRequired
	}
	if !slices.Contains(p.Versions, v) {
		return parcelguard.ErrStaleVersion
	}
	return nil
}

// SiteUpdate changes a site; nil fields stay as they are.
type SiteUpdate struct {
	Name, Address, TimeZone, OpeningHours *string
	Lat, Lon                              *float64
	StoragePeriod                         *time.Duration
	// If names the versions of the site the change applies to.
	If Precondition
}

// errDecommissioned refuses a change to, or a parcel for, a decommissioned
// site.
var errDecommissioned = parcelguard.Errorf(parcelguard.ECONFLICT, "the site is decommissioned")

// UpdateSite changes a site's description, if its version is one in.If
// allows. Operators and admins only.
func (s *Service) UpdateSite(ctx context.Context, p parcelguard.Principal, id string, in SiteUpdate) (*parcelguard.Site, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var site *parcelguard.Site
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if site, err = tx.Site(ctx, id); err != nil {
			return err
		}
		// The version read here is the one SaveSite checks: a change that
		// commits in between makes the save a conflict, the re-run reads
		// the new version, and the precondition then fails.
		if err := in.If.check(site.Version); err != nil {
			return err
		}
		if site.Decommissioned() {
			return errDecommissioned
		}
		set(&site.Name, in.Name)
		set(&site.Address, in.Address)
		set(&site.TimeZone, in.TimeZone)
		set(&site.OpeningHours, in.OpeningHours)
		set(&site.Lat, in.Lat)
		set(&site.Lon, in.Lon)
		set(&site.StoragePeriod, in.StoragePeriod)
		if err := site.Validate(); err != nil {
			return err
		}
		if err := tx.SaveSite(ctx, site); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventSiteUpdated, SiteID: site.ID,
			Data: map[string]string{"name": site.Name, "version": strconv.FormatInt(site.Version, 10)}})
	})
	if err != nil {
		return nil, fmt.Errorf("update site %s: %w", id, err)
	}
	return site, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// CarrierWithPolicy is a carrier and its full-locker policy.
type CarrierWithPolicy struct {
	Carrier *parcelguard.Carrier
	Policy  *parcelguard.CarrierPolicy
}

// Carriers lists carriers with their policies. Operators and admins see
// all; a carrier key sees only its own carrier.
func (s *Service) Carriers(ctx context.Context, p parcelguard.Principal, f parcelguard.CarrierFilter) ([]CarrierWithPolicy, error) {
	if err := require(p, parcelguard.RoleOperator, parcelguard.RoleCarrier); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var out []CarrierWithPolicy
	err := s.store.View(ctx, func(tx parcelguard.Tx) error {
		var cs []*parcelguard.Carrier
		if p.Role == parcelguard.RoleCarrier {
			c, err := tx.Carrier(ctx, p.CarrierID)
			if err != nil {
				return err
			}
			if c.ID > f.After {
				cs = []*parcelguard.Carrier{c}
			}
		} else {
			var err error
			if cs, err = tx.Carriers(ctx, f); err != nil {
				return err
			}
		}
		for _, c := range cs {
			pol, err := tx.CarrierPolicy(ctx, c.ID)
			if err != nil {
				return err
			}
			out = append(out, CarrierWithPolicy{Carrier: c, Policy: pol})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list carriers: %w", err)
	}
	return out, nil
}

// CarrierUpdate changes a carrier; nil fields stay as they are.
type CarrierUpdate struct {
	Name          *string
	PhoneFactor   *bool
	StoragePeriod *time.Duration
	Fallback      *parcelguard.FallbackMode
	// FallbackMaxDistanceM is how far a fallback locker may be, in metres.
	FallbackMaxDistanceM *int
	// If names the versions of the carrier the change applies to; the
	// policy is part of the carrier's version.
	If Precondition
}

// UpdateCarrier changes a carrier and its full-locker policy, if its
// version is one in.If allows. Operators and admins only: carriers do not
// set their own second-factor rules.
func (s *Service) UpdateCarrier(ctx context.Context, p parcelguard.Principal, id string, in CarrierUpdate) (*CarrierWithPolicy, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var out CarrierWithPolicy
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		c, err := tx.Carrier(ctx, id)
		if err != nil {
			return err
		}
		if err := in.If.check(c.Version); err != nil {
			return err
		}
		pol, err := tx.CarrierPolicy(ctx, id)
		if err != nil {
			return err
		}
		set(&c.Name, in.Name)
		set(&c.PhoneFactor, in.PhoneFactor)
		set(&c.StoragePeriod, in.StoragePeriod)
		set(&pol.Fallback, in.Fallback)
		set(&pol.MaxDistanceM, in.FallbackMaxDistanceM)
		if err := joinInvalid(c.Validate(), pol.Validate()); err != nil {
			return err
		}
		pol.UpdatedAt = s.clock.Now()
		if err := tx.SaveCarrier(ctx, c); err != nil {
			return err
		}
		if err := tx.SaveCarrierPolicy(ctx, pol); err != nil {
			return err
		}
		out = CarrierWithPolicy{Carrier: c, Policy: pol}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventCarrierUpdated,
			Data: map[string]string{"carrier_id": c.ID, "name": c.Name, "phone_factor": strconv.FormatBool(c.PhoneFactor),
				"fallback": string(pol.Fallback), "fallback_max_distance_m": strconv.Itoa(pol.MaxDistanceM),
				"version": strconv.FormatInt(c.Version, 10)}})
	})
	if err != nil {
		return nil, fmt.Errorf("update carrier %s: %w", id, err)
	}
	return &out, nil
}

// joinInvalid merges the field lists of several validation errors; any
// other error wins as it is.
func joinInvalid(errs ...error) error {
	var fields []parcelguard.FieldError
	for _, err := range errs {
		if err == nil {
			continue
		}
		e, ok := err.(*parcelguard.Error)
		if !ok || e.Code != parcelguard.EINVALID {
			return err
		}
		fields = append(fields, e.Fields...)
	}
	if len(fields) > 0 {
		return parcelguard.Invalid(fields...)
	}
	return nil
}

// APIKeys lists API keys (never their secrets). Admins only, like key
// creation.
func (s *Service) APIKeys(ctx context.Context, p parcelguard.Principal, f parcelguard.APIKeyFilter) ([]*parcelguard.APIKey, error) {
	if err := require(p); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var out []*parcelguard.APIKey
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		out, err = tx.APIKeys(ctx, f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	for _, k := range out {
		k.SecretHash = nil
	}
	return out, nil
}

// RevokeAPIKey revokes a key. Admins only. The key stops working with its
// next request to this Service, and within AuthCacheTTL on other instances
// sharing the store.
func (s *Service) RevokeAPIKey(ctx context.Context, p parcelguard.Principal, prefix string) (*parcelguard.APIKey, error) {
	if err := require(p); err != nil {
		return nil, err
	}
	var k *parcelguard.APIKey
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if err := tx.RevokeAPIKey(ctx, prefix, s.clock.Now()); err != nil {
			return err
		}
		if k, err = tx.APIKey(ctx, prefix); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventAPIKeyRevoked, SiteID: k.SiteID,
			Data: map[string]string{"prefix": k.Prefix, "role": string(k.Role), "carrier_id": k.CarrierID}})
	})
	s.auth.forget(prefix) // also when the update failed: it may have committed
	if err != nil {
		return nil, fmt.Errorf("revoke api key %s: %w", prefix, err)
	}
	k.SecretHash = nil
	return k, nil
}
