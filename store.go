package parcelguard

import (
	"context"
	"time"
)

// Store is the durable state of parcelguard. Engines (sqlite, postgres)
// implement it and must all pass the storetest suite.
type Store interface {
	// Update runs fn in one read-write transaction: every write fn makes,
	// and the audit events it appends, commit together or not at all. An
	// acknowledged Update is durable. fn may run more than once (engines
	// retry serialization failures), so it must not act outside tx. Engines
	// may commit several concurrent Updates together (group commit); each
	// still succeeds or fails on its own. fn may run on another goroutine
	// (SQLite's writer), so it must not call Update or View, nor t.Fatal.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction with a consistent snapshot.
	View(ctx context.Context, fn func(tx Tx) error) error
	// Ping checks the store can serve requests (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// Tx is what a use case may do inside a transaction. Reads see the
// transaction's own writes. Lookups return an error matching ErrNotFound
// when nothing matches; inserts of an existing key return ErrDuplicate;
// Save* of a row whose Version changed since it was read return ErrConflict
// and bump Version on success. An engine may send a write whose outcome
// nobody waits for (a Save, a timer, a message, an event) with a later
// call or the commit: its error (ErrConflict, ErrNotFound, ...) then comes
// from that call or from Update, and the transaction fails all the same.
type Tx interface {
	CreateSite(ctx context.Context, s *Site) error
	Site(ctx context.Context, id string) (*Site, error)
	Sites(ctx context.Context, f SiteFilter) ([]*Site, error)

	CreateCompartment(ctx context.Context, c *Compartment) error
	Compartment(ctx context.Context, id string) (*Compartment, error)
	Compartments(ctx context.Context, siteID string) ([]*Compartment, error)
	// FreeCompartment returns the smallest free compartment of the site that
	// a parcel of the size fits, or ErrNoFreeCompartment.
	FreeCompartment(ctx context.Context, siteID string, size SizeClass) (*Compartment, error)
	SaveCompartment(ctx context.Context, c *Compartment) error

	CreateCarrier(ctx context.Context, c *Carrier) error
	Carrier(ctx context.Context, id string) (*Carrier, error)

	CreateParcel(ctx context.Context, p *Parcel) error
	Parcel(ctx context.Context, id string) (*Parcel, error)
	Parcels(ctx context.Context, f ParcelFilter) ([]*Parcel, error)
	SaveParcel(ctx context.Context, p *Parcel) error

	CreateGrant(ctx context.Context, g *Grant) error
	Grant(ctx context.Context, id string) (*Grant, error)
	// ActiveGrantsByCode returns the active grants of the site and purpose
	// whose CodeHash is one of hashes (one hash per server key id).
	ActiveGrantsByCode(ctx context.Context, siteID string, purpose GrantPurpose, hashes [][]byte) ([]*Grant, error)
	// GrantsOfParcel returns every grant ever issued for the parcel.
	GrantsOfParcel(ctx context.Context, parcelID string) ([]*Grant, error)
	SaveGrant(ctx context.Context, g *Grant) error

	// LockerGuard returns the site's guard, or a zero guard for the site if
	// none was saved yet (Version 0).
	LockerGuard(ctx context.Context, siteID string) (*LockerGuard, error)
	SaveLockerGuard(ctx context.Context, g *LockerGuard) error

	// AppendEvent seals e onto the head of its stream (setting Seq,
	// PrevHash and Hash, by the time Update returns) and stores it.
	AppendEvent(ctx context.Context, e *Event) error
	Events(ctx context.Context, f EventFilter) ([]*Event, error)
	// Streams lists every audit stream name.
	Streams(ctx context.Context) ([]string, error)
	// StreamHead returns the seq and hash of the stream's last event as
	// recorded beside the chain (0 and nil for an empty stream), so that
	// cutting events off the end of a chain is detectable.
	StreamHead(ctx context.Context, stream string) (seq int64, hash []byte, err error)

	// ScheduleTimer stores t, replacing any timer of the same kind for the
	// same parcel.
	ScheduleTimer(ctx context.Context, t *Timer) error
	// CancelTimers deletes the parcel's timers of the given kinds (all kinds
	// if none are given).
	CancelTimers(ctx context.Context, parcelID string, kinds ...TimerKind) error
	// DueTimers returns up to limit timers due at or before now, oldest
	// first, skipping timers another transaction holds.
	DueTimers(ctx context.Context, now time.Time, limit int) ([]*Timer, error)
	// ClaimTimer deletes the timer if it still exists, reporting whether it
	// did; the timer fires only in the transaction that claimed it.
	ClaimTimer(ctx context.Context, id string) (bool, error)
	// NextTimer returns when the earliest timer is due (zero if none).
	NextTimer(ctx context.Context) (time.Time, error)

	CreateAPIKey(ctx context.Context, k *APIKey) error
	APIKey(ctx context.Context, prefix string) (*APIKey, error)
	IdempotencyTx
	OutboxTx
	NetworkTx
	DoorstepTx
	DeviceTx
	AccountTx
	OutageTx
}

// SiteFilter selects sites; the zero value selects all.
type SiteFilter struct {
	// After is a cursor: only sites with an ID greater than it.
	After string
	Limit int
}

// ParcelFilter selects parcels; zero fields do not filter.
type ParcelFilter struct {
	CarrierID      string
	SiteID         string
	State          ParcelState
	TrackingNumber string
	// After is a cursor: only parcels with an ID greater than it.
	After string
	Limit int
}

// EventFilter selects events; zero fields do not filter. Events come in
// stream order (ascending Seq) when Stream is set, else by time.
type EventFilter struct {
	Stream   string
	ParcelID string
	AfterSeq int64
	Limit    int
}
