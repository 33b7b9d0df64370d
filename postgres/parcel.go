package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/parcelguard/parcelguard"
)

const parcelColumns = `id, carrier_id, tracking_number, recipient_name, recipient_phone, recipient_email,
	recipient_language, size, declared_value, currency, mode, state, site_id, compartment_id, deadline,
	created_at, updated_at, version`

func scanParcel(row scanRow) (*parcelguard.Parcel, error) {
	var (
		p                            parcelguard.Parcel
		size, mode, state            string
		site, compartment            pgtype.Text
		deadline, created, updatedAt int64
	)
	if err := row.Scan(&p.ID, &p.CarrierID, &p.TrackingNumber, &p.Recipient.Name, &p.Recipient.Phone,
		&p.Recipient.Email, &p.Recipient.Language, &size, &p.DeclaredValue, &p.Currency, &mode, &state,
		&site, &compartment, &deadline, &created, &updatedAt, &p.Version); err != nil {
		return nil, err
	}
	p.Size, p.Mode, p.State = parcelguard.SizeClass(size), parcelguard.HandoverMode(mode), parcelguard.ParcelState(state)
	p.SiteID, p.CompartmentID = site.String, compartment.String
	p.Deadline, p.CreatedAt, p.UpdatedAt = fromNanos(deadline), fromNanos(created), fromNanos(updatedAt)
	return &p, nil
}

// CreateParcel inserts p with Version 1.
func (t *tx) CreateParcel(ctx context.Context, p *parcelguard.Parcel) error {
	_, err := t.exec(ctx, `INSERT INTO parcels (`+parcelColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 1)`,
		p.ID, p.CarrierID, p.TrackingNumber, p.Recipient.Name, p.Recipient.Phone, p.Recipient.Email,
		p.Recipient.Language, string(p.Size), p.DeclaredValue, p.Currency, string(p.Mode), string(p.State),
		nullString(p.SiteID), nullString(p.CompartmentID), nanos(p.Deadline), nanos(p.CreatedAt), nanos(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create parcel %s: %w", p.ID, dbErr(err))
	}
	p.Version = 1
	return nil
}

// The reads that go with Parcel's: the parcel's compartment, site and
// carrier, which a deposit reads next.
var (
	parcelCompartment = `SELECT ` + compartmentColumns + ` FROM compartments
		WHERE id = (SELECT compartment_id FROM parcels WHERE id = $1)`
	parcelSite    = `SELECT ` + siteColumns + ` FROM sites WHERE id = (SELECT site_id FROM parcels WHERE id = $1)`
	parcelCarrier = `SELECT ` + carrierColumns + ` FROM carriers WHERE id = (SELECT carrier_id FROM parcels WHERE id = $1)`
	parcelLocker  = `SELECT ` + lockerColumns + ` FROM lockers WHERE site_id = (SELECT site_id FROM parcels WHERE id = $1)`
)

// Parcel returns the parcel with the id. The same round trip reads its
// compartment, site and carrier ahead (see prefetch.go).
func (t *tx) Parcel(ctx context.Context, id string) (*parcelguard.Parcel, error) {
	if v, ok := t.take(parcelKey(id)); ok {
		if p, _ := v.(*parcelguard.Parcel); p != nil {
			return p, nil
		}
		return nil, fmt.Errorf("get parcel %s: %w", id, parcelguard.ErrNotFound)
	}
	var p *parcelguard.Parcel
	args := []any{id}
	err := t.send(ctx, stmt{sql: `SELECT ` + parcelColumns + ` FROM parcels WHERE id = $1`, args: args,
		fn: oneRow(func(row scanRow) (err error) {
			p, err = scanParcel(row)
			return err
		})},
		t.prefetch(parcelCompartment, args, prefetchedCompartment, nil),
		t.prefetch(parcelSite, args, prefetchedSite, nil),
		t.prefetch(parcelCarrier, args, prefetchedCarrier, nil),
		t.lockerAhead(parcelLocker, args, func() string {
			if p == nil {
				return ""
			}
			return p.SiteID
		}))
	if err != nil {
		return nil, fmt.Errorf("get parcel %s: %w", id, dbErr(err))
	}
	return p, nil
}

// Parcels returns the parcels matching f in id order, after the cursor
// f.After, so that paging with the last id seen is stable and complete.
func (t *tx) Parcels(ctx context.Context, f parcelguard.ParcelFilter) ([]*parcelguard.Parcel, error) {
	var (
		where = []string{"id > $1"}
		args  = []any{f.After}
	)
	add := func(column string, v any) {
		args = append(args, v)
		where = append(where, column+" = $"+strconv.Itoa(len(args)))
	}
	if f.CarrierID != "" {
		add("carrier_id", f.CarrierID)
	}
	if f.SiteID != "" {
		add("site_id", f.SiteID)
	}
	if f.State != "" {
		add("state", string(f.State))
	}
	if f.TrackingNumber != "" {
		add("tracking_number", f.TrackingNumber)
	}
	args = append(args, limitArg(f.Limit))
	q := `SELECT ` + parcelColumns + ` FROM parcels WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY id LIMIT $` + strconv.Itoa(len(args))
	var out []*parcelguard.Parcel
	err := t.query(ctx, q, args, func(row scanRow) error {
		p, err := scanParcel(row)
		out = append(out, p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list parcels: %w", dbErr(err))
	}
	return out, nil
}

// saveParcel is SaveParcel's checked write.
var saveParcel = checked(`UPDATE parcels SET carrier_id = $1, tracking_number = $2, recipient_name = $3,
		recipient_phone = $4, recipient_email = $5, recipient_language = $6, size = $7, declared_value = $8,
		currency = $9, mode = $10, state = $11, site_id = $12, compartment_id = $13, deadline = $14,
		created_at = $15, updated_at = $16, version = version + 1
		WHERE id = $17 AND version = $18`, "parcels", "id", 17, existsIsConflict)

// SaveParcel updates p if its Version is current, and bumps Version. The
// write goes with the next statement or the COMMIT, where a stale Version
// fails the transaction with ErrConflict (a missing parcel with
// ErrNotFound).
func (t *tx) SaveParcel(_ context.Context, p *parcelguard.Parcel) error {
	t.forget(parcelKey(p.ID))
	v := p.Version
	t.laterChecked("save parcel "+p.ID, saveParcel, func() { p.Version = v },
		p.CarrierID, p.TrackingNumber, p.Recipient.Name, p.Recipient.Phone, p.Recipient.Email, p.Recipient.Language,
		string(p.Size), p.DeclaredValue, p.Currency, string(p.Mode), string(p.State), nullString(p.SiteID),
		nullString(p.CompartmentID), nanos(p.Deadline), nanos(p.CreatedAt), nanos(p.UpdatedAt),
		p.ID, p.Version)
	p.Version++
	return nil
}
