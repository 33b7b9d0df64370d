package parcelguard

import "context"

// DoorstepTx is the part of Tx for doorstep deliveries: carrier policies,
// delivery records, delivery passwords, proofs and offline entries.
type DoorstepTx interface {
	// SaveDoorstepPolicy stores the carrier's policy, creating it when
	// p.Version is 0 (ErrDuplicate if one exists) and otherwise updating it
	// if its Version is current (else ErrConflict); it bumps Version.
	SaveDoorstepPolicy(ctx context.Context, p *DoorstepPolicy) error
	// DoorstepPolicy returns the carrier's saved policy or ErrNotFound.
	DoorstepPolicy(ctx context.Context, carrierID string) (*DoorstepPolicy, error)

	// CreateDoorstep inserts d with Version 1 (ErrDuplicate for a parcel
	// that has one).
	CreateDoorstep(ctx context.Context, d *Doorstep) error
	Doorstep(ctx context.Context, parcelID string) (*Doorstep, error)
	// Doorsteps lists records in route order (see DoorstepFilter).
	Doorsteps(ctx context.Context, f DoorstepFilter) ([]*Doorstep, error)
	SaveDoorstep(ctx context.Context, d *Doorstep) error

	// CreateDoorstepPassword inserts p with Version 1.
	CreateDoorstepPassword(ctx context.Context, p *DoorstepPassword) error
	DoorstepPassword(ctx context.Context, id string) (*DoorstepPassword, error)
	// DoorstepPasswords returns every password of the parcel, oldest first.
	DoorstepPasswords(ctx context.Context, parcelID string) ([]*DoorstepPassword, error)
	SaveDoorstepPassword(ctx context.Context, p *DoorstepPassword) error

	// CreateDoorstepProof stores the parcel's handover proof; a parcel has
	// at most one (ErrDuplicate).
	CreateDoorstepProof(ctx context.Context, p *DoorstepProof) error
	DoorstepProof(ctx context.Context, parcelID string) (*DoorstepProof, error)

	// CreateOfflineEntry inserts e with Version 1.
	CreateOfflineEntry(ctx context.Context, e *OfflineEntry) error
	OfflineEntry(ctx context.Context, id string) (*OfflineEntry, error)
	OfflineEntries(ctx context.Context, f OfflineFilter) ([]*OfflineEntry, error)
	SaveOfflineEntry(ctx context.Context, e *OfflineEntry) error
}
