package parcelguard

import "context"

// OutageTx is the part of Tx for locker outages: heartbeats, sites or
// compartments out of service, and the deadline extensions they cause.
type OutageTx interface {
	// LockerStatus returns the site's status, or a zero status (Version 0,
	// never seen, in service) if none was saved yet.
	LockerStatus(ctx context.Context, siteID string) (*LockerStatus, error)
	// SaveLockerStatus inserts a status at Version 0 or updates a current
	// one, bumping Version; a stale save returns ErrConflict.
	SaveLockerStatus(ctx context.Context, s *LockerStatus) error
	// LockerStatuses returns every saved status, by site id.
	LockerStatuses(ctx context.Context) ([]*LockerStatus, error)
	// BrokenCompartments returns the compartments that are out of order
	// while holding a parcel, by id.
	BrokenCompartments(ctx context.Context) ([]*Compartment, error)

	// HoldParcel records that an outage holds the parcel; a parcel already
	// held returns ErrDuplicate.
	HoldParcel(ctx context.Context, h *ParcelHold) error
	// ParcelHolds returns every hold, by parcel id.
	ParcelHolds(ctx context.Context) ([]*ParcelHold, error)
	// ReleaseParcel deletes the parcel's hold if it still exists and
	// returns it (nil if there was none): like ClaimTimer, only the
	// transaction that deleted it acts on the release.
	ReleaseParcel(ctx context.Context, parcelID string) (*ParcelHold, error)
}
