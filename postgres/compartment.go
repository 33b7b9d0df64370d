package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/parcelguard/parcelguard"
)

const compartmentColumns = `id, site_id, label, size, width_mm, height_mm, depth_mm, state, parcel_id, version`

func scanCompartment(row scanRow) (*parcelguard.Compartment, error) {
	var (
		c           parcelguard.Compartment
		size, state string
		parcel      pgtype.Text
	)
	if err := row.Scan(&c.ID, &c.SiteID, &c.Label, &size, &c.WidthMM, &c.HeightMM, &c.DepthMM,
		&state, &parcel, &c.Version); err != nil {
		return nil, err
	}
	c.Size, c.State, c.ParcelID = parcelguard.SizeClass(size), parcelguard.CompartmentState(state), parcel.String
	return &c, nil
}

// compartment runs a query for at most one compartment.
func (t *tx) compartment(ctx context.Context, q string, args ...any) (*parcelguard.Compartment, error) {
	var c *parcelguard.Compartment
	err := t.run(ctx, q, args, oneRow(func(row scanRow) (err error) {
		c, err = scanCompartment(row)
		return err
	}))
	return c, err
}

// CreateCompartment inserts c with Version 1.
func (t *tx) CreateCompartment(ctx context.Context, c *parcelguard.Compartment) error {
	_, err := t.exec(ctx, `INSERT INTO compartments (`+compartmentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)`,
		c.ID, c.SiteID, c.Label, string(c.Size), c.WidthMM, c.HeightMM, c.DepthMM, string(c.State), nullString(c.ParcelID))
	if err != nil {
		return fmt.Errorf("create compartment %s: %w", c.ID, dbErr(err))
	}
	c.Version = 1
	return nil
}

// Compartment returns the compartment with the id.
func (t *tx) Compartment(ctx context.Context, id string) (*parcelguard.Compartment, error) {
	if v, ok := t.take(compartmentKey(id)); ok {
		if c, _ := v.(*parcelguard.Compartment); c != nil {
			return c, nil
		}
		return nil, fmt.Errorf("get compartment %s: %w", id, parcelguard.ErrNotFound)
	}
	c, err := t.compartment(ctx, `SELECT `+compartmentColumns+` FROM compartments WHERE id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("get compartment %s: %w", id, dbErr(err))
	}
	return c, nil
}

// Compartments returns the site's compartments ordered by label.
func (t *tx) Compartments(ctx context.Context, siteID string) ([]*parcelguard.Compartment, error) {
	var out []*parcelguard.Compartment
	err := t.query(ctx, `SELECT `+compartmentColumns+` FROM compartments WHERE site_id = $1 ORDER BY label, id`,
		[]any{siteID}, func(row scanRow) error {
			c, err := scanCompartment(row)
			out = append(out, c)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("list compartments of site %s: %w", siteID, dbErr(err))
	}
	return out, nil
}

// FreeCompartment returns the free compartment of the smallest size class
// the parcel fits, lowest label first, so big doors stay free for big
// parcels. It takes no lock: two deposits may be offered the same door,
// and the version check of SaveCompartment lets only one have it.
func (t *tx) FreeCompartment(ctx context.Context, siteID string, size parcelguard.SizeClass) (*parcelguard.Compartment, error) {
	if !size.Valid() {
		return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "size", Message: "must be one of S, M, L, XL"})
	}
	c, err := t.compartment(ctx, `SELECT `+compartmentColumns+` FROM compartments
		WHERE site_id = $1 AND state = $2 AND size_rank >= $3
		ORDER BY size_rank, label, id LIMIT 1`,
		siteID, string(parcelguard.CompartmentFree), size.Rank())
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("free %s compartment at site %s: %w", size, siteID, parcelguard.ErrNoFreeCompartment)
	}
	if err != nil {
		return nil, fmt.Errorf("free %s compartment at site %s: %w", size, siteID, dbErr(err))
	}
	return c, nil
}

// saveCompartment is SaveCompartment's checked write.
var saveCompartment = checked(`UPDATE compartments SET site_id = $1, label = $2, size = $3, width_mm = $4,
	height_mm = $5, depth_mm = $6, state = $7, parcel_id = $8, version = version + 1
	WHERE id = $9 AND version = $10`, "compartments", "id", 9, existsIsConflict)

// SaveCompartment updates c if its Version is current, and bumps Version.
// Like SaveParcel it goes with the next statement or the COMMIT, where a
// stale Version fails the transaction with ErrConflict.
func (t *tx) SaveCompartment(_ context.Context, c *parcelguard.Compartment) error {
	t.forget(compartmentKey(c.ID))
	v := c.Version
	t.laterChecked("save compartment "+c.ID, saveCompartment, func() { c.Version = v },
		c.SiteID, c.Label, string(c.Size), c.WidthMM, c.HeightMM, c.DepthMM, string(c.State), nullString(c.ParcelID),
		c.ID, c.Version)
	c.Version++
	return nil
}
