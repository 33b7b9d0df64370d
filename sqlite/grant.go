package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/parcelguard/parcelguard"
)

const grantColumns = `id, parcel_id, site_id, compartment_id, purpose, state, key_id, code_hash, phone_hash,
	code_sealed, failures, not_before, expires_at, used_at, created_at, version`

func scanGrant(row rowScanner) (*parcelguard.Grant, error) {
	var (
		g                                 parcelguard.Grant
		compartment                       sql.NullString
		notBefore, expires, used, created int64
	)
	if err := row.Scan(&g.ID, &g.ParcelID, &g.SiteID, &compartment, &g.Purpose, &g.State, &g.KeyID,
		&g.CodeHash, &g.PhoneHash, &g.CodeSealed, &g.Failures, &notBefore, &expires, &used, &created,
		&g.Version); err != nil {
		return nil, err
	}
	g.CompartmentID = compartment.String
	g.CodeHash, g.PhoneHash, g.CodeSealed = bytesOrNil(g.CodeHash), bytesOrNil(g.PhoneHash), bytesOrNil(g.CodeSealed)
	g.NotBefore, g.ExpiresAt = fromNanos(notBefore), fromNanos(expires)
	g.UsedAt, g.CreatedAt = fromNanos(used), fromNanos(created)
	return &g, nil
}

func scanGrants(rows *sql.Rows) ([]*parcelguard.Grant, error) {
	defer rows.Close()
	var out []*parcelguard.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// CreateGrant inserts g with Version 1. An active grant whose CodeHash is
// already active at the site for the same purpose is ErrDuplicate.
func (t *tx) CreateGrant(ctx context.Context, g *parcelguard.Grant) error {
	_, err := t.exec(ctx, `INSERT INTO grants (`+grantColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		g.ID, g.ParcelID, g.SiteID, nullString(g.CompartmentID), string(g.Purpose), string(g.State), g.KeyID,
		g.CodeHash, nullBytes(g.PhoneHash), nullBytes(g.CodeSealed), g.Failures,
		nanos(g.NotBefore), nanos(g.ExpiresAt), nanos(g.UsedAt), nanos(g.CreatedAt))
	if err != nil {
		return fmt.Errorf("create grant %s: %w", g.ID, dbErr(err))
	}
	g.Version = 1
	return nil
}

// Grant returns the grant with the id.
func (t *tx) Grant(ctx context.Context, id string) (*parcelguard.Grant, error) {
	g, err := scanGrant(t.queryRow(ctx, `SELECT `+grantColumns+` FROM grants WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("get grant %s: %w", id, dbErr(err))
	}
	return g, nil
}

// ActiveGrantsByCode returns the active grants of the site and purpose whose
// CodeHash is one of hashes. The query matches the partial unique index, so
// it is one index probe per hash.
func (t *tx) ActiveGrantsByCode(ctx context.Context, siteID string, purpose parcelguard.GrantPurpose, hashes [][]byte) ([]*parcelguard.Grant, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	args := make([]any, 0, 2+len(hashes))
	args = append(args, siteID, string(purpose))
	for _, h := range hashes {
		args = append(args, h)
	}
	rows, err := t.query(ctx, `SELECT `+grantColumns+` FROM grants
		WHERE site_id = ? AND purpose = ? AND state = 'active' AND code_hash IN (`+placeholders(len(hashes))+`)
		ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("find %s grants by code at site %s: %w", purpose, siteID, dbErr(err))
	}
	gs, err := scanGrants(rows)
	if err != nil {
		return nil, fmt.Errorf("find %s grants by code at site %s: %w", purpose, siteID, err)
	}
	return gs, nil
}

// GrantsOfParcel returns every grant of the parcel, oldest first.
func (t *tx) GrantsOfParcel(ctx context.Context, parcelID string) ([]*parcelguard.Grant, error) {
	rows, err := t.query(ctx, `SELECT `+grantColumns+` FROM grants WHERE parcel_id = ? ORDER BY created_at, id`, parcelID)
	if err != nil {
		return nil, fmt.Errorf("list grants of parcel %s: %w", parcelID, dbErr(err))
	}
	gs, err := scanGrants(rows)
	if err != nil {
		return nil, fmt.Errorf("list grants of parcel %s: %w", parcelID, err)
	}
	return gs, nil
}

// SaveGrant updates g if its Version is current, and bumps Version.
func (t *tx) SaveGrant(ctx context.Context, g *parcelguard.Grant) error {
	res, err := t.exec(ctx, `UPDATE grants SET parcel_id = ?, site_id = ?, compartment_id = ?, purpose = ?, state = ?,
		key_id = ?, code_hash = ?, phone_hash = ?, code_sealed = ?, failures = ?, not_before = ?, expires_at = ?,
		used_at = ?, created_at = ?, version = version + 1
		WHERE id = ? AND version = ?`,
		g.ParcelID, g.SiteID, nullString(g.CompartmentID), string(g.Purpose), string(g.State), g.KeyID,
		g.CodeHash, nullBytes(g.PhoneHash), nullBytes(g.CodeSealed), g.Failures, nanos(g.NotBefore),
		nanos(g.ExpiresAt), nanos(g.UsedAt), nanos(g.CreatedAt),
		g.ID, g.Version)
	if err := t.checkSaved(ctx, res, err, "grants", "id", g.ID); err != nil {
		return fmt.Errorf("save grant %s: %w", g.ID, err)
	}
	g.Version++
	return nil
}
