package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
)

// The network part of Tx (parcelguard.NetworkTx).

// sitesInBoxSQL reads the sites of a box through the sites_geo index and
// counts each one's free compartments per size class through
// compartments_free, in one statement.
const sitesInBoxSQL = `SELECT s.id, s.name, s.address, s.lat, s.lon, s.time_zone, s.opening_hours, s.storage_period_ns, s.created_at,
	s.version, COALESCE(SUM(c.size = 'S'), 0), COALESCE(SUM(c.size = 'M'), 0), COALESCE(SUM(c.size = 'L'), 0), COALESCE(SUM(c.size = 'XL'), 0)
	FROM sites s LEFT JOIN compartments c ON c.site_id = s.id AND c.state = 'free'
	WHERE s.lat BETWEEN ? AND ? AND s.lon BETWEEN ? AND ? AND s.decommissioned_at = 0
	GROUP BY s.id ORDER BY s.id LIMIT ?`

// SitesInBox returns the sites in the box with their free compartments.
func (t *tx) SitesInBox(ctx context.Context, box parcelguard.GeoBox, limit int) ([]*parcelguard.SiteAvailability, error) {
	rows, err := t.query(ctx, sitesInBoxSQL, box.MinLat, box.MaxLat, box.MinLon, box.MaxLon, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("sites in box: %w", dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.SiteAvailability
	for rows.Next() {
		var (
			s               parcelguard.Site
			period, created int64
			free            [4]int
		)
		if err := rows.Scan(&s.ID, &s.Name, &s.Address, &s.Lat, &s.Lon, &s.TimeZone, &s.OpeningHours, &period, &created, &s.Version,
			&free[0], &free[1], &free[2], &free[3]); err != nil {
			return nil, fmt.Errorf("sites in box: %w", err)
		}
		s.StoragePeriod, s.CreatedAt = time.Duration(period), fromNanos(created)
		out = append(out, &parcelguard.SiteAvailability{Site: &s, Free: freeMap(free)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sites in box: %w", err)
	}
	return out, nil
}

func freeMap(free [4]int) map[parcelguard.SizeClass]int {
	m := make(map[parcelguard.SizeClass]int, 4)
	for i, c := range parcelguard.SizeClasses {
		m[c] = free[i]
	}
	return m
}

// mustHaveUpdated turns an UPDATE that matched nothing into ErrNotFound.
func mustHaveUpdated(res sql.Result, err error) error {
	if err != nil {
		return dbErr(err)
	}
	ok, err := updated(res)
	if err != nil {
		return err
	}
	if !ok {
		return parcelguard.ErrNotFound
	}
	return nil
}

// SaveSite overwrites the site's fields if its Version is current, and
// bumps Version.
func (t *tx) SaveSite(ctx context.Context, s *parcelguard.Site) error {
	res, err := t.exec(ctx, `UPDATE sites SET name = ?, address = ?, lat = ?, lon = ?, time_zone = ?, opening_hours = ?,
		storage_period_ns = ?, decommissioned_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
		s.Name, s.Address, s.Lat, s.Lon, s.TimeZone, s.OpeningHours, int64(s.StoragePeriod), nanos(s.DecommissionedAt),
		s.ID, s.Version)
	if err := t.checkSaved(ctx, res, err, "sites", "id", s.ID); err != nil {
		return fmt.Errorf("save site %s: %w", s.ID, err)
	}
	s.Version++
	return nil
}

// Carriers lists carriers in id order.
func (t *tx) Carriers(ctx context.Context, f parcelguard.CarrierFilter) ([]*parcelguard.Carrier, error) {
	rows, err := t.query(ctx, `SELECT id, name, phone_factor, storage_period_ns, created_at, version FROM carriers
		WHERE id > ? ORDER BY id LIMIT ?`, f.After, limitArg(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("list carriers: %w", dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.Carrier
	for rows.Next() {
		var (
			c               parcelguard.Carrier
			period, created int64
		)
		if err := rows.Scan(&c.ID, &c.Name, &c.PhoneFactor, &period, &created, &c.Version); err != nil {
			return nil, fmt.Errorf("list carriers: %w", err)
		}
		c.StoragePeriod, c.CreatedAt = time.Duration(period), fromNanos(created)
		out = append(out, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list carriers: %w", err)
	}
	return out, nil
}

// SaveCarrier overwrites the carrier's fields if its Version is current,
// and bumps Version.
func (t *tx) SaveCarrier(ctx context.Context, c *parcelguard.Carrier) error {
	res, err := t.exec(ctx, `UPDATE carriers SET name = ?, phone_factor = ?, storage_period_ns = ?, version = version + 1
		WHERE id = ? AND version = ?`,
		c.Name, boolInt(c.PhoneFactor), int64(c.StoragePeriod), c.ID, c.Version)
	if err := t.checkSaved(ctx, res, err, "carriers", "id", c.ID); err != nil {
		return fmt.Errorf("save carrier %s: %w", c.ID, err)
	}
	c.Version++
	return nil
}

// CarrierPolicy returns the carrier's policy or the default one.
func (t *tx) CarrierPolicy(ctx context.Context, carrierID string) (*parcelguard.CarrierPolicy, error) {
	var (
		p       parcelguard.CarrierPolicy
		updated int64
	)
	err := t.queryRow(ctx, `SELECT carrier_id, fallback, max_distance_m, updated_at FROM carrier_policies WHERE carrier_id = ?`,
		carrierID).Scan(&p.CarrierID, &p.Fallback, &p.MaxDistanceM, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return parcelguard.DefaultCarrierPolicy(carrierID), nil
	}
	if err != nil {
		return nil, fmt.Errorf("policy of carrier %s: %w", carrierID, dbErr(err))
	}
	p.UpdatedAt = fromNanos(updated)
	return &p, nil
}

// SaveCarrierPolicy upserts the policy.
func (t *tx) SaveCarrierPolicy(ctx context.Context, p *parcelguard.CarrierPolicy) error {
	_, err := t.exec(ctx, `INSERT INTO carrier_policies (carrier_id, fallback, max_distance_m, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (carrier_id) DO UPDATE SET fallback = excluded.fallback, max_distance_m = excluded.max_distance_m,
		updated_at = excluded.updated_at`,
		p.CarrierID, string(p.Fallback), p.MaxDistanceM, nanos(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save policy of carrier %s: %w", p.CarrierID, dbErr(err))
	}
	return nil
}

// APIKeys lists keys in prefix order.
func (t *tx) APIKeys(ctx context.Context, f parcelguard.APIKeyFilter) ([]*parcelguard.APIKey, error) {
	rows, err := t.query(ctx, `SELECT prefix, secret_hash, role, carrier_id, site_id, name, created_at, revoked_at
		FROM api_keys WHERE prefix > ? AND (? = '' OR carrier_id = ?) AND (? = '' OR role = ?)
		ORDER BY prefix LIMIT ?`,
		f.After, f.CarrierID, f.CarrierID, string(f.Role), string(f.Role), limitArg(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.APIKey
	for rows.Next() {
		var (
			k                parcelguard.APIKey
			carrier, site    sql.NullString
			created, revoked int64
		)
		if err := rows.Scan(&k.Prefix, &k.SecretHash, &k.Role, &carrier, &site, &k.Name, &created, &revoked); err != nil {
			return nil, fmt.Errorf("list api keys: %w", err)
		}
		k.SecretHash = bytesOrNil(k.SecretHash)
		k.CarrierID, k.SiteID = carrier.String, site.String
		k.CreatedAt, k.RevokedAt = fromNanos(created), fromNanos(revoked)
		out = append(out, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey marks the key revoked, keeping an earlier revocation time.
func (t *tx) RevokeAPIKey(ctx context.Context, prefix string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE api_keys SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END
		WHERE prefix = ?`, nanos(at), prefix)
	if err := mustHaveUpdated(res, err); err != nil {
		return fmt.Errorf("revoke api key %s: %w", prefix, err)
	}
	return nil
}

const delegateColumns = `grant_id, parcel_id, name, email, phone, created_at`

func scanDelegate(row rowScanner) (*parcelguard.Delegate, error) {
	var (
		d       parcelguard.Delegate
		created int64
	)
	if err := row.Scan(&d.GrantID, &d.ParcelID, &d.Name, &d.Email, &d.Phone, &created); err != nil {
		return nil, err
	}
	d.CreatedAt = fromNanos(created)
	return &d, nil
}

// CreateDelegate inserts d.
func (t *tx) CreateDelegate(ctx context.Context, d *parcelguard.Delegate) error {
	_, err := t.exec(ctx, `INSERT INTO delegates (`+delegateColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		d.GrantID, d.ParcelID, d.Name, d.Email, d.Phone, nanos(d.CreatedAt))
	if err != nil {
		return fmt.Errorf("create delegate of grant %s: %w", d.GrantID, dbErr(err))
	}
	return nil
}

// Delegate returns the delegate of a grant.
func (t *tx) Delegate(ctx context.Context, grantID string) (*parcelguard.Delegate, error) {
	d, err := scanDelegate(t.queryRow(ctx, `SELECT `+delegateColumns+` FROM delegates WHERE grant_id = ?`, grantID))
	if err != nil {
		return nil, fmt.Errorf("delegate of grant %s: %w", grantID, dbErr(err))
	}
	return d, nil
}

// DelegatesOfParcel returns the parcel's delegates, oldest first.
func (t *tx) DelegatesOfParcel(ctx context.Context, parcelID string) ([]*parcelguard.Delegate, error) {
	rows, err := t.query(ctx, `SELECT `+delegateColumns+` FROM delegates WHERE parcel_id = ? ORDER BY created_at, grant_id`, parcelID)
	if err != nil {
		return nil, fmt.Errorf("delegates of parcel %s: %w", parcelID, dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.Delegate
	for rows.Next() {
		d, err := scanDelegate(rows)
		if err != nil {
			return nil, fmt.Errorf("delegates of parcel %s: %w", parcelID, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delegates of parcel %s: %w", parcelID, err)
	}
	return out, nil
}
