package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parcelguard/parcelguard"
)

const compartmentColumns = `id, site_id, label, size, width_mm, height_mm, depth_mm, state, parcel_id, version`

func scanCompartment(row rowScanner) (*parcelguard.Compartment, error) {
	var (
		c      parcelguard.Compartment
		parcel sql.NullString
	)
	if err := row.Scan(&c.ID, &c.SiteID, &c.Label, &c.Size, &c.WidthMM, &c.HeightMM, &c.DepthMM,
		&c.State, &parcel, &c.Version); err != nil {
		return nil, err
	}
	c.ParcelID = parcel.String
	return &c, nil
}

// CreateCompartment inserts c with Version 1.
func (t *tx) CreateCompartment(ctx context.Context, c *parcelguard.Compartment) error {
	_, err := t.exec(ctx, `INSERT INTO compartments (`+compartmentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		c.ID, c.SiteID, c.Label, string(c.Size), c.WidthMM, c.HeightMM, c.DepthMM, string(c.State), nullString(c.ParcelID))
	if err != nil {
		return fmt.Errorf("create compartment %s: %w", c.ID, dbErr(err))
	}
	c.Version = 1
	return nil
}

// Compartment returns the compartment with the id.
func (t *tx) Compartment(ctx context.Context, id string) (*parcelguard.Compartment, error) {
	c, err := scanCompartment(t.queryRow(ctx, `SELECT `+compartmentColumns+` FROM compartments WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("get compartment %s: %w", id, dbErr(err))
	}
	return c, nil
}

// Compartments returns the site's compartments ordered by label.
func (t *tx) Compartments(ctx context.Context, siteID string) ([]*parcelguard.Compartment, error) {
	rows, err := t.query(ctx, `SELECT `+compartmentColumns+` FROM compartments WHERE site_id = ? ORDER BY label, id`, siteID)
	if err != nil {
		return nil, fmt.Errorf("list compartments of site %s: %w", siteID, dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.Compartment
	for rows.Next() {
		c, err := scanCompartment(rows)
		if err != nil {
			return nil, fmt.Errorf("list compartments of site %s: %w", siteID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list compartments of site %s: %w", siteID, err)
	}
	return out, nil
}

// FreeCompartment returns the free compartment of the smallest size class
// the parcel fits, lowest label first, so big doors stay free for big
// parcels.
func (t *tx) FreeCompartment(ctx context.Context, siteID string, size parcelguard.SizeClass) (*parcelguard.Compartment, error) {
	if !size.Valid() {
		return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "size", Message: "must be one of S, M, L, XL"})
	}
	c, err := scanCompartment(t.queryRow(ctx, `SELECT `+compartmentColumns+` FROM compartments
		WHERE site_id = ? AND state = ? AND size_rank >= ?
		ORDER BY size_rank, label, id LIMIT 1`,
		siteID, string(parcelguard.CompartmentFree), size.Rank()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("free %s compartment at site %s: %w", size, siteID, parcelguard.ErrNoFreeCompartment)
	}
	if err != nil {
		return nil, fmt.Errorf("free %s compartment at site %s: %w", size, siteID, dbErr(err))
	}
	return c, nil
}

// SaveCompartment updates c if its Version is current, and bumps Version.
func (t *tx) SaveCompartment(ctx context.Context, c *parcelguard.Compartment) error {
	res, err := t.exec(ctx, `UPDATE compartments SET site_id = ?, label = ?, size = ?, width_mm = ?, height_mm = ?,
		depth_mm = ?, state = ?, parcel_id = ?, version = version + 1
		WHERE id = ? AND version = ?`,
		c.SiteID, c.Label, string(c.Size), c.WidthMM, c.HeightMM, c.DepthMM, string(c.State), nullString(c.ParcelID),
		c.ID, c.Version)
	if err := t.checkSaved(ctx, res, err, "compartments", "id", c.ID); err != nil {
		return fmt.Errorf("save compartment %s: %w", c.ID, err)
	}
	c.Version++
	return nil
}
