package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/parcelguard/parcelguard"
)

const grantColumns = `id, parcel_id, site_id, compartment_id, purpose, state, key_id, code_hash, phone_hash,
	code_sealed, failures, not_before, expires_at, used_at, created_at, version`

func scanGrant(row scanRow) (*parcelguard.Grant, error) {
	var (
		g                                 parcelguard.Grant
		purpose, state                    string
		compartment                       pgtype.Text
		notBefore, expires, used, created int64
	)
	if err := row.Scan(&g.ID, &g.ParcelID, &g.SiteID, &compartment, &purpose, &state, &g.KeyID,
		&g.CodeHash, &g.PhoneHash, &g.CodeSealed, &g.Failures, &notBefore, &expires, &used, &created,
		&g.Version); err != nil {
		return nil, err
	}
	g.Purpose, g.State = parcelguard.GrantPurpose(purpose), parcelguard.GrantState(state)
	g.CompartmentID = compartment.String
	g.CodeHash, g.PhoneHash, g.CodeSealed = bytesOrNil(g.CodeHash), bytesOrNil(g.PhoneHash), bytesOrNil(g.CodeSealed)
	g.NotBefore, g.ExpiresAt = fromNanos(notBefore), fromNanos(expires)
	g.UsedAt, g.CreatedAt = fromNanos(used), fromNanos(created)
	return &g, nil
}

// grants runs a query for grants.
func (t *tx) grants(ctx context.Context, q string, args ...any) ([]*parcelguard.Grant, error) {
	var out []*parcelguard.Grant
	err := t.query(ctx, q, args, func(row scanRow) error {
		g, err := scanGrant(row)
		out = append(out, g)
		return err
	})
	return out, err
}

// CreateGrant inserts g with Version 1. An active grant whose CodeHash is
// already active at the site for the same purpose is ErrDuplicate.
func (t *tx) CreateGrant(ctx context.Context, g *parcelguard.Grant) error {
	_, err := t.exec(ctx, `INSERT INTO grants (`+grantColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1)`,
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
	var g *parcelguard.Grant
	err := t.run(ctx, `SELECT `+grantColumns+` FROM grants WHERE id = $1`, []any{id}, oneRow(func(row scanRow) (err error) {
		g, err = scanGrant(row)
		return err
	}))
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
	gs, err := t.grants(ctx, `SELECT `+grantColumns+` FROM grants
		WHERE site_id = $1 AND purpose = $2 AND state = 'active' AND code_hash = ANY ($3)
		ORDER BY id`, siteID, string(purpose), hashes)
	if err != nil {
		return nil, fmt.Errorf("find %s grants by code at site %s: %w", purpose, siteID, dbErr(err))
	}
	return gs, nil
}

// GrantsOfParcel returns every grant of the parcel, oldest first.
func (t *tx) GrantsOfParcel(ctx context.Context, parcelID string) ([]*parcelguard.Grant, error) {
	gs, err := t.grants(ctx, `SELECT `+grantColumns+` FROM grants WHERE parcel_id = $1 ORDER BY created_at, id`, parcelID)
	if err != nil {
		return nil, fmt.Errorf("list grants of parcel %s: %w", parcelID, dbErr(err))
	}
	return gs, nil
}

// SaveGrant updates g if its Version is current, and bumps Version.
func (t *tx) SaveGrant(ctx context.Context, g *parcelguard.Grant) error {
	n, err := t.exec(ctx, `UPDATE grants SET parcel_id = $1, site_id = $2, compartment_id = $3, purpose = $4,
		state = $5, key_id = $6, code_hash = $7, phone_hash = $8, code_sealed = $9, failures = $10,
		not_before = $11, expires_at = $12, used_at = $13, created_at = $14, version = version + 1
		WHERE id = $15 AND version = $16`,
		g.ParcelID, g.SiteID, nullString(g.CompartmentID), string(g.Purpose), string(g.State), g.KeyID,
		g.CodeHash, nullBytes(g.PhoneHash), nullBytes(g.CodeSealed), g.Failures, nanos(g.NotBefore),
		nanos(g.ExpiresAt), nanos(g.UsedAt), nanos(g.CreatedAt),
		g.ID, g.Version)
	if err := t.saved(ctx, n, err, "grants", "id", g.ID); err != nil {
		return fmt.Errorf("save grant %s: %w", g.ID, err)
	}
	g.Version++
	return nil
}
