package parcelguard

import (
	"context"
	"time"
)

// NetworkTx is the part of Tx for the network administration and API extras: site updates, carrier and key listings, delegate codes, redirects.
type NetworkTx interface {
	// SitesInBox returns up to limit sites inside the box (in id order)
	// that are not decommissioned, each with the count of its free
	// compartments per size class, in one query over the sites' coordinate
	// index.
	SitesInBox(ctx context.Context, box GeoBox, limit int) ([]*SiteAvailability, error)
	// SaveSite overwrites every field of the site but its id and creation
	// time (DecommissionedAt included) if its Version is current, else
	// ErrConflict, and bumps Version; ErrNotFound if there is none.
	SaveSite(ctx context.Context, s *Site) error

	// Carriers lists carriers in id order after f.After.
	Carriers(ctx context.Context, f CarrierFilter) ([]*Carrier, error)
	// SaveCarrier overwrites the carrier's name, phone factor and storage
	// period if its Version is current, else ErrConflict, and bumps
	// Version; ErrNotFound if there is none.
	SaveCarrier(ctx context.Context, c *Carrier) error
	// CarrierPolicy returns the carrier's full-locker policy, or
	// DefaultCarrierPolicy if it never set one.
	CarrierPolicy(ctx context.Context, carrierID string) (*CarrierPolicy, error)
	// SaveCarrierPolicy stores the policy, replacing the carrier's last one.
	SaveCarrierPolicy(ctx context.Context, p *CarrierPolicy) error

	// APIKeys lists keys in prefix order after f.After.
	APIKeys(ctx context.Context, f APIKeyFilter) ([]*APIKey, error)
	// RevokeAPIKey marks the key revoked at at; revoking a revoked key
	// keeps the first time. ErrNotFound if there is none.
	RevokeAPIKey(ctx context.Context, prefix string, at time.Time) error

	// CreateDelegate stores d; its grant must exist.
	CreateDelegate(ctx context.Context, d *Delegate) error
	// Delegate returns the delegate of a grant, or ErrNotFound when the
	// grant is not a delegate's.
	Delegate(ctx context.Context, grantID string) (*Delegate, error)
	// DelegatesOfParcel returns the parcel's delegates, oldest first.
	DelegatesOfParcel(ctx context.Context, parcelID string) ([]*Delegate, error)
}
