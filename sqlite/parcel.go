package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/parcelguard/parcelguard"
)

const parcelColumns = `id, carrier_id, tracking_number, recipient_name, recipient_phone, recipient_email,
	recipient_language, size, declared_value, currency, mode, state, site_id, compartment_id, deadline,
	created_at, updated_at, version`

func scanParcel(row rowScanner) (*parcelguard.Parcel, error) {
	var (
		p                            parcelguard.Parcel
		site, compartment            sql.NullString
		deadline, created, updatedAt int64
	)
	if err := row.Scan(&p.ID, &p.CarrierID, &p.TrackingNumber, &p.Recipient.Name, &p.Recipient.Phone,
		&p.Recipient.Email, &p.Recipient.Language, &p.Size, &p.DeclaredValue, &p.Currency, &p.Mode, &p.State,
		&site, &compartment, &deadline, &created, &updatedAt, &p.Version); err != nil {
		return nil, err
	}
	p.SiteID, p.CompartmentID = site.String, compartment.String
	p.Deadline, p.CreatedAt, p.UpdatedAt = fromNanos(deadline), fromNanos(created), fromNanos(updatedAt)
	return &p, nil
}

// CreateParcel inserts p with Version 1.
func (t *tx) CreateParcel(ctx context.Context, p *parcelguard.Parcel) error {
	_, err := t.exec(ctx, `INSERT INTO parcels (`+parcelColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		p.ID, p.CarrierID, p.TrackingNumber, p.Recipient.Name, p.Recipient.Phone, p.Recipient.Email,
		p.Recipient.Language, string(p.Size), p.DeclaredValue, p.Currency, string(p.Mode), string(p.State),
		nullString(p.SiteID), nullString(p.CompartmentID), nanos(p.Deadline), nanos(p.CreatedAt), nanos(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create parcel %s: %w", p.ID, dbErr(err))
	}
	p.Version = 1
	return nil
}

// Parcel returns the parcel with the id.
func (t *tx) Parcel(ctx context.Context, id string) (*parcelguard.Parcel, error) {
	p, err := scanParcel(t.queryRow(ctx, `SELECT `+parcelColumns+` FROM parcels WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("get parcel %s: %w", id, dbErr(err))
	}
	return p, nil
}

// Parcels returns the parcels matching f in id order, after the cursor
// f.After, so that paging with the last id seen is stable and complete.
func (t *tx) Parcels(ctx context.Context, f parcelguard.ParcelFilter) ([]*parcelguard.Parcel, error) {
	var (
		where = []string{"id > ?"}
		args  = []any{f.After}
	)
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.CarrierID != "" {
		add("carrier_id = ?", f.CarrierID)
	}
	if f.SiteID != "" {
		add("site_id = ?", f.SiteID)
	}
	if f.State != "" {
		add("state = ?", string(f.State))
	}
	if f.TrackingNumber != "" {
		add("tracking_number = ?", f.TrackingNumber)
	}
	args = append(args, limitArg(f.Limit))
	rows, err := t.query(ctx, `SELECT `+parcelColumns+` FROM parcels WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list parcels: %w", dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.Parcel
	for rows.Next() {
		p, err := scanParcel(rows)
		if err != nil {
			return nil, fmt.Errorf("list parcels: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list parcels: %w", err)
	}
	return out, nil
}

// SaveParcel updates p if its Version is current, and bumps Version.
func (t *tx) SaveParcel(ctx context.Context, p *parcelguard.Parcel) error {
	res, err := t.exec(ctx, `UPDATE parcels SET carrier_id = ?, tracking_number = ?, recipient_name = ?,
		recipient_phone = ?, recipient_email = ?, recipient_language = ?, size = ?, declared_value = ?, currency = ?,
		mode = ?, state = ?, site_id = ?, compartment_id = ?, deadline = ?, created_at = ?, updated_at = ?,
		version = version + 1
		WHERE id = ? AND version = ?`,
		p.CarrierID, p.TrackingNumber, p.Recipient.Name, p.Recipient.Phone, p.Recipient.Email, p.Recipient.Language,
		string(p.Size), p.DeclaredValue, p.Currency, string(p.Mode), string(p.State), nullString(p.SiteID),
		nullString(p.CompartmentID), nanos(p.Deadline), nanos(p.CreatedAt), nanos(p.UpdatedAt),
		p.ID, p.Version)
	if err := t.checkSaved(ctx, res, err, "parcels", "id", p.ID); err != nil {
		return fmt.Errorf("save parcel %s: %w", p.ID, err)
	}
	p.Version++
	return nil
}
