package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/parcelguard/parcelguard"
)

const lockerStatusColumns = `site_id, last_seen, unreachable, unreachable_since, out_of_service,
	out_of_service_since, out_of_service_note, version`

func scanLockerStatus(row scanRow) (*parcelguard.LockerStatus, error) {
	var (
		s                      parcelguard.LockerStatus
		seen, unreachable, oos int64
	)
	if err := row.Scan(&s.SiteID, &seen, &s.Unreachable, &unreachable, &s.OutOfService, &oos, &s.OutOfServiceNote, &s.Version); err != nil {
		return nil, err
	}
	s.LastSeen, s.UnreachableSince, s.OutOfServiceSince = fromNanos(seen), fromNanos(unreachable), fromNanos(oos)
	return &s, nil
}

// LockerStatus returns the site's status, or a zero status (Version 0).
func (t *tx) LockerStatus(ctx context.Context, siteID string) (*parcelguard.LockerStatus, error) {
	var s *parcelguard.LockerStatus
	err := t.run(ctx, `SELECT `+lockerStatusColumns+` FROM locker_status WHERE site_id = $1`, []any{siteID},
		oneRow(func(row scanRow) (err error) {
			s, err = scanLockerStatus(row)
			return err
		}))
	if errors.Is(err, pgx.ErrNoRows) {
		return &parcelguard.LockerStatus{SiteID: siteID}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get locker status of site %s: %w", siteID, dbErr(err))
	}
	return s, nil
}

// SaveLockerStatus inserts a status at Version 0, or updates one whose
// Version is current, and bumps Version.
func (t *tx) SaveLockerStatus(ctx context.Context, s *parcelguard.LockerStatus) error {
	if s.Version == 0 {
		_, err := t.exec(ctx, `INSERT INTO locker_status (`+lockerStatusColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, 1)`,
			s.SiteID, nanos(s.LastSeen), s.Unreachable, nanos(s.UnreachableSince), s.OutOfService,
			nanos(s.OutOfServiceSince), s.OutOfServiceNote)
		if err = dbErr(err); errors.Is(err, parcelguard.ErrDuplicate) {
			err = parcelguard.ErrConflict
		}
		if err != nil {
			return fmt.Errorf("save locker status of site %s: %w", s.SiteID, err)
		}
		s.Version = 1
		return nil
	}
	n, err := t.exec(ctx, `UPDATE locker_status SET last_seen = $1, unreachable = $2, unreachable_since = $3,
		out_of_service = $4, out_of_service_since = $5, out_of_service_note = $6, version = version + 1
		WHERE site_id = $7 AND version = $8`,
		nanos(s.LastSeen), s.Unreachable, nanos(s.UnreachableSince), s.OutOfService,
		nanos(s.OutOfServiceSince), s.OutOfServiceNote, s.SiteID, s.Version)
	if err := t.saved(ctx, n, err, "locker_status", "site_id", s.SiteID); err != nil {
		return fmt.Errorf("save locker status of site %s: %w", s.SiteID, err)
	}
	s.Version++
	return nil
}

// LockerStatuses returns every saved status by site id.
func (t *tx) LockerStatuses(ctx context.Context) ([]*parcelguard.LockerStatus, error) {
	var out []*parcelguard.LockerStatus
	err := t.query(ctx, `SELECT `+lockerStatusColumns+` FROM locker_status ORDER BY site_id`, nil,
		func(row scanRow) error {
			s, err := scanLockerStatus(row)
			out = append(out, s)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("list locker status: %w", dbErr(err))
	}
	return out, nil
}

// BrokenCompartments returns out-of-order compartments holding a parcel.
func (t *tx) BrokenCompartments(ctx context.Context) ([]*parcelguard.Compartment, error) {
	var out []*parcelguard.Compartment
	err := t.query(ctx, `SELECT `+compartmentColumns+` FROM compartments
		WHERE state = 'out_of_order' AND parcel_id IS NOT NULL ORDER BY id`, nil,
		func(row scanRow) error {
			c, err := scanCompartment(row)
			out = append(out, c)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("list broken compartments: %w", dbErr(err))
	}
	return out, nil
}

const parcelHoldColumns = `parcel_id, site_id, compartment_id, cause, since, deadline`

func scanParcelHold(row scanRow) (*parcelguard.ParcelHold, error) {
	var (
		h               parcelguard.ParcelHold
		cause           string
		since, deadline int64
	)
	if err := row.Scan(&h.ParcelID, &h.SiteID, &h.CompartmentID, &cause, &since, &deadline); err != nil {
		return nil, err
	}
	h.Cause, h.Since, h.Deadline = parcelguard.OutageCause(cause), fromNanos(since), fromNanos(deadline)
	return &h, nil
}

// HoldParcel inserts the hold; a parcel already held is ErrDuplicate.
func (t *tx) HoldParcel(ctx context.Context, h *parcelguard.ParcelHold) error {
	_, err := t.exec(ctx, `INSERT INTO parcel_holds (`+parcelHoldColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		h.ParcelID, h.SiteID, h.CompartmentID, string(h.Cause), nanos(h.Since), nanos(h.Deadline))
	if err != nil {
		return fmt.Errorf("hold parcel %s: %w", h.ParcelID, dbErr(err))
	}
	return nil
}

// ParcelHolds returns every hold by parcel id.
func (t *tx) ParcelHolds(ctx context.Context) ([]*parcelguard.ParcelHold, error) {
	var out []*parcelguard.ParcelHold
	err := t.query(ctx, `SELECT `+parcelHoldColumns+` FROM parcel_holds ORDER BY parcel_id`, nil,
		func(row scanRow) error {
			h, err := scanParcelHold(row)
			out = append(out, h)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("list parcel holds: %w", dbErr(err))
	}
	return out, nil
}

// ReleaseParcel deletes and returns the parcel's hold, or nil if none. The
// DELETE locks the row, so of two concurrent releases only one gets it.
func (t *tx) ReleaseParcel(ctx context.Context, parcelID string) (*parcelguard.ParcelHold, error) {
	var h *parcelguard.ParcelHold
	err := t.run(ctx, `DELETE FROM parcel_holds WHERE parcel_id = $1 RETURNING `+parcelHoldColumns, []any{parcelID},
		oneRow(func(row scanRow) (err error) {
			h, err = scanParcelHold(row)
			return err
		}))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("release parcel %s: %w", parcelID, dbErr(err))
	}
	return h, nil
}
