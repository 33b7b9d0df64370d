package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
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
	// The insert waits for its answer (a PIN taken meanwhile must come back
	// as ErrDuplicate here); the site's locker record, which the grant's
	// command to the locker needs next, travels with it.
	err := t.send(ctx, stmt{sql: `INSERT INTO grants (` + grantColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1)`,
		args: []any{g.ID, g.ParcelID, g.SiteID, nullString(g.CompartmentID), string(g.Purpose), string(g.State), g.KeyID,
			g.CodeHash, nullBytes(g.PhoneHash), nullBytes(g.CodeSealed), g.Failures,
			nanos(g.NotBefore), nanos(g.ExpiresAt), nanos(g.UsedAt), nanos(g.CreatedAt)},
		fn: func(br pgx.BatchResults) error { _, err := br.Exec(); return err }},
		t.lockerAhead(`SELECT `+lockerColumns+` FROM lockers WHERE site_id = $1`, []any{g.SiteID}, func() string { return g.SiteID }))
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

// activeByCode is the condition of ActiveGrantsByCode.
const activeByCode = `site_id = $1 AND purpose = $2 AND state = 'active' AND code_hash = ANY ($3)`

// The reads that go with ActiveGrantsByCode's: the grants' parcels,
// compartments and delegates, which a pickup reads next.
var (
	codeParcels      = `SELECT ` + parcelColumns + ` FROM parcels WHERE id IN (SELECT parcel_id FROM grants WHERE ` + activeByCode + `)`
	codeCompartments = `SELECT ` + compartmentColumns + ` FROM compartments
		WHERE id IN (SELECT compartment_id FROM grants WHERE ` + activeByCode + `)`
	codeDelegates = `SELECT ` + delegateColumns + ` FROM delegates WHERE grant_id IN (SELECT id FROM grants WHERE ` + activeByCode + `)`
	codeGrantsOf  = `SELECT ` + grantColumns + ` FROM grants
		WHERE parcel_id IN (SELECT parcel_id FROM grants WHERE ` + activeByCode + `) ORDER BY parcel_id, created_at, id`
)

// ActiveGrantsByCode returns the active grants of the site and purpose whose
// CodeHash is one of hashes. The query matches the partial unique index, so
// it is one index probe per hash. The same round trip reads the grants'
// parcels, compartments, delegates and the parcels' grants ahead (see
// prefetch.go).
func (t *tx) ActiveGrantsByCode(ctx context.Context, siteID string, purpose parcelguard.GrantPurpose, hashes [][]byte) ([]*parcelguard.Grant, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	var gs []*parcelguard.Grant
	args := []any{siteID, string(purpose), hashes}
	err := t.send(ctx, stmt{sql: `SELECT ` + grantColumns + ` FROM grants WHERE ` + activeByCode + ` ORDER BY id`, args: args,
		fn: func(br pgx.BatchResults) error {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				g, err := scanGrant(rows)
				if err != nil {
					return err
				}
				gs = append(gs, g)
			}
			return rows.Err()
		}},
		t.prefetch(codeParcels, args, prefetchedParcel, nil),
		t.prefetch(codeCompartments, args, prefetchedCompartment, nil),
		t.prefetch(codeDelegates, args, prefetchedDelegate, func() []string {
			keys := make([]string, len(gs))
			for i, g := range gs {
				keys[i] = delegateKey(g.ID)
			}
			return keys
		}),
		stmt{sql: codeGrantsOf, args: args, fn: t.keepGrantsOfParcels},
		t.lockerAhead(`SELECT `+lockerColumns+` FROM lockers WHERE site_id = $1`, []any{siteID}, func() string { return siteID }))
	if err != nil {
		return nil, fmt.Errorf("find %s grants by code at site %s: %w", purpose, siteID, dbErr(err))
	}
	return gs, nil
}

// grantsOfParcel lists a parcel's grants, oldest first.
const grantsOfParcel = `SELECT ` + grantColumns + ` FROM grants WHERE parcel_id = $1 ORDER BY created_at, id`

// GrantsOfParcel returns every grant of the parcel, oldest first.
func (t *tx) GrantsOfParcel(ctx context.Context, parcelID string) ([]*parcelguard.Grant, error) {
	if v, ok := t.take(grantsOfKey(parcelID)); ok {
		gs, _ := v.([]*parcelguard.Grant)
		return gs, nil
	}
	gs, err := t.grants(ctx, grantsOfParcel, parcelID)
	if err != nil {
		return nil, fmt.Errorf("list grants of parcel %s: %w", parcelID, dbErr(err))
	}
	return gs, nil
}

// saveGrant is SaveGrant's checked write.
var saveGrant = checked(`UPDATE grants SET parcel_id = $1, site_id = $2, compartment_id = $3, purpose = $4,
		state = $5, key_id = $6, code_hash = $7, phone_hash = $8, code_sealed = $9, failures = $10,
		not_before = $11, expires_at = $12, used_at = $13, created_at = $14, version = version + 1
		WHERE id = $15 AND version = $16`, "grants", "id", 15, existsIsConflict)

// SaveGrant updates g if its Version is current, and bumps Version. Like
// SaveParcel it goes with the next statement or the COMMIT, where a stale
// Version fails the transaction with ErrConflict.
func (t *tx) SaveGrant(_ context.Context, g *parcelguard.Grant) error {
	defer t.savedGrant(g)
	v := g.Version
	t.laterChecked("save grant "+g.ID, saveGrant, func() { g.Version = v },
		g.ParcelID, g.SiteID, nullString(g.CompartmentID), string(g.Purpose), string(g.State), g.KeyID,
		g.CodeHash, nullBytes(g.PhoneHash), nullBytes(g.CodeSealed), g.Failures, nanos(g.NotBefore),
		nanos(g.ExpiresAt), nanos(g.UsedAt), nanos(g.CreatedAt),
		g.ID, g.Version)
	g.Version++
	return nil
}
