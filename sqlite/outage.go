package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parcelguard/parcelguard"
)

const lockerStatusColumns = `site_id, last_seen, unreachable, unreachable_since, out_of_service,
	out_of_service_since, out_of_service_note, version`

func scanLockerStatus(row rowScanner) (*parcelguard.LockerStatus, error) {
	var (
		s                       parcelguard.LockerStatus
		seen, unreachable, oos  int64
		unreachableFlag, oosFlg bool
	)
	if err := row.Scan(&s.SiteID, &seen, &unreachableFlag, &unreachable, &oosFlg, &oos, &s.OutOfServiceNote, &s.Version); err != nil {
		return nil, err
	}
	s.LastSeen, s.UnreachableSince, s.OutOfServiceSince = fromNanos(seen), fromNanos(unreachable), fromNanos(oos)
	s.Unreachable, s.OutOfService = unreachableFlag, oosFlg
	return &s, nil
}

// LockerStatus returns the site's status, or a zero status (Version 0).
func (t *tx) LockerStatus(ctx context.Context, siteID string) (*parcelguard.LockerStatus, error) {
	s, err := scanLockerStatus(t.queryRow(ctx, `SELECT `+lockerStatusColumns+` FROM locker_status WHERE site_id = ?`, siteID))
	if errors.Is(err, sql.ErrNoRows) {
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
		_, err := t.exec(ctx, `INSERT INTO locker_status (`+lockerStatusColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, 1)`,
			s.SiteID, nanos(s.LastSeen), boolInt(s.Unreachable), nanos(s.UnreachableSince), boolInt(s.OutOfService),
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
	res, err := t.exec(ctx, `UPDATE locker_status SET last_seen = ?, unreachable = ?, unreachable_since = ?,
		out_of_service = ?, out_of_service_since = ?, out_of_service_note = ?, version = version + 1
		WHERE site_id = ? AND version = ?`,
		nanos(s.LastSeen), boolInt(s.Unreachable), nanos(s.UnreachableSince), boolInt(s.OutOfService),
		nanos(s.OutOfServiceSince), s.OutOfServiceNote, s.SiteID, s.Version)
	if err := t.checkSaved(ctx, res, err, "locker_status", "site_id", s.SiteID); err != nil {
		return fmt.Errorf("save locker status of site %s: %w", s.SiteID, err)
	}
	s.Version++
	return nil
}

// LockerStatuses returns every saved status by site id.
func (t *tx) LockerStatuses(ctx context.Context) ([]*parcelguard.LockerStatus, error) {
	rows, err := t.query(ctx, `SELECT `+lockerStatusColumns+` FROM locker_status ORDER BY site_id`)
	if err != nil {
		return nil, fmt.Errorf("list locker status: %w", dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.LockerStatus
	for rows.Next() {
		s, err := scanLockerStatus(rows)
		if err != nil {
			return nil, fmt.Errorf("list locker status: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list locker status: %w", dbErr(err))
	}
	return out, nil
}

// BrokenCompartments returns out-of-order compartments holding a parcel.
func (t *tx) BrokenCompartments(ctx context.Context) ([]*parcelguard.Compartment, error) {
	rows, err := t.query(ctx, `SELECT `+compartmentColumns+` FROM compartments
		WHERE state = 'out_of_order' AND parcel_id IS NOT NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list broken compartments: %w", dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.Compartment
	for rows.Next() {
		c, err := scanCompartment(rows)
		if err != nil {
			return nil, fmt.Errorf("list broken compartments: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list broken compartments: %w", dbErr(err))
	}
	return out, nil
}

const parcelHoldColumns = `parcel_id, site_id, compartment_id, cause, since, deadline`

func scanParcelHold(row rowScanner) (*parcelguard.ParcelHold, error) {
	var (
		h               parcelguard.ParcelHold
		since, deadline int64
	)
	if err := row.Scan(&h.ParcelID, &h.SiteID, &h.CompartmentID, &h.Cause, &since, &deadline); err != nil {
		return nil, err
	}
	h.Since, h.Deadline = fromNanos(since), fromNanos(deadline)
	return &h, nil
}

// HoldParcel inserts the hold; a parcel already held is ErrDuplicate.
func (t *tx) HoldParcel(ctx context.Context, h *parcelguard.ParcelHold) error {
	_, err := t.exec(ctx, `INSERT INTO parcel_holds (`+parcelHoldColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		h.ParcelID, h.SiteID, h.CompartmentID, string(h.Cause), nanos(h.Since), nanos(h.Deadline))
	if err != nil {
		return fmt.Errorf("hold parcel %s: %w", h.ParcelID, dbErr(err))
	}
	return nil
}

// ParcelHolds returns every hold by parcel id.
func (t *tx) ParcelHolds(ctx context.Context) ([]*parcelguard.ParcelHold, error) {
	rows, err := t.query(ctx, `SELECT `+parcelHoldColumns+` FROM parcel_holds ORDER BY parcel_id`)
	if err != nil {
		return nil, fmt.Errorf("list parcel holds: %w", dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.ParcelHold
	for rows.Next() {
		h, err := scanParcelHold(rows)
		if err != nil {
			return nil, fmt.Errorf("list parcel holds: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list parcel holds: %w", dbErr(err))
	}
	return out, nil
}

// ReleaseParcel deletes and returns the parcel's hold, or nil if none.
func (t *tx) ReleaseParcel(ctx context.Context, parcelID string) (*parcelguard.ParcelHold, error) {
	h, err := scanParcelHold(t.queryRow(ctx, `DELETE FROM parcel_holds WHERE parcel_id = ? RETURNING `+parcelHoldColumns, parcelID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("release parcel %s: %w", parcelID, dbErr(err))
	}
	return h, nil
}
