package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/parcelguard/parcelguard"
)

// CreateAPIKey inserts k.
func (t *tx) CreateAPIKey(ctx context.Context, k *parcelguard.APIKey) error {
	_, err := t.exec(ctx, `INSERT INTO api_keys (prefix, secret_hash, role, carrier_id, site_id, name, created_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		k.Prefix, k.SecretHash, string(k.Role), nullString(k.CarrierID), nullString(k.SiteID), k.Name,
		nanos(k.CreatedAt), nanos(k.RevokedAt))
	if err != nil {
		return fmt.Errorf("create api key %s: %w", k.Prefix, dbErr(err))
	}
	return nil
}

// APIKey returns the key with the prefix.
func (t *tx) APIKey(ctx context.Context, prefix string) (*parcelguard.APIKey, error) {
	var (
		k                parcelguard.APIKey
		role             string
		carrier, site    pgtype.Text
		created, revoked int64
	)
	err := t.queryRow(ctx, `SELECT prefix, secret_hash, role, carrier_id, site_id, name, created_at, revoked_at
		FROM api_keys WHERE prefix = $1`, []any{prefix},
		&k.Prefix, &k.SecretHash, &role, &carrier, &site, &k.Name, &created, &revoked)
	if err != nil {
		return nil, fmt.Errorf("get api key %s: %w", prefix, dbErr(err))
	}
	k.Role = parcelguard.Role(role)
	k.SecretHash = bytesOrNil(k.SecretHash)
	k.CarrierID, k.SiteID = carrier.String, site.String
	k.CreatedAt, k.RevokedAt = fromNanos(created), fromNanos(revoked)
	return &k, nil
}
