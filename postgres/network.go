package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/parcelguard/parcelguard"
)

// The network part of Tx (parcelguard.NetworkTx).

// sitesInBoxSQL reads the sites of a box through the sites_geo index and
// counts each one's free compartments per size class through
// compartments_free, in one statement.
const sitesInBoxSQL = `SELECT s.id, s.name, s.address, s.lat, s.lon, s.time_zone, s.opening_hours, s.storage_period_ns, s.created_at,
	s.version, COUNT(c.id) FILTER (WHERE c.size = 'S'), COUNT(c.id) FILTER (WHERE c.size = 'M'),
	COUNT(c.id) FILTER (WHERE c.size = 'L'), COUNT(c.id) FILTER (WHERE c.size = 'XL')
	FROM sites s LEFT JOIN compartments c ON c.site_id = s.id AND c.state = 'free'
	WHERE s.lat BETWEEN $1 AND $2 AND s.lon BETWEEN $3 AND $4 AND s.decommissioned_at = 0
	GROUP BY s.id ORDER BY s.id LIMIT $5`

// SitesInBox returns the sites in the box with their free compartments.
func (t *tx) SitesInBox(ctx context.Context, box parcelguard.GeoBox, limit int) ([]*parcelguard.SiteAvailability, error) {
	var out []*parcelguard.SiteAvailability
	err := t.query(ctx, sitesInBoxSQL, []any{box.MinLat, box.MaxLat, box.MinLon, box.MaxLon, limitArg(limit)}, func(row scanRow) error {
		var (
			s               parcelguard.Site
			period, created int64
			free            [4]int64
		)
		if err := row.Scan(&s.ID, &s.Name, &s.Address, &s.Lat, &s.Lon, &s.TimeZone, &s.OpeningHours, &period, &created, &s.Version,
			&free[0], &free[1], &free[2], &free[3]); err != nil {
			return err
		}
		s.StoragePeriod, s.CreatedAt = time.Duration(period), fromNanos(created)
		m := make(map[parcelguard.SizeClass]int, 4)
		for i, c := range parcelguard.SizeClasses {
			m[c] = int(free[i])
		}
		out = append(out, &parcelguard.SiteAvailability{Site: &s, Free: m})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sites in box: %w", dbErr(err))
	}
	return out, nil
}

// mustHaveUpdated turns an UPDATE that matched nothing into ErrNotFound.
func mustHaveUpdated(n int64, err error) error {
	if err != nil {
		return dbErr(err)
	}
	if n == 0 {
		return parcelguard.ErrNotFound
	}
	return nil
}

// SaveSite overwrites the site's fields if its Version is current, and
// bumps Version.
func (t *tx) SaveSite(ctx context.Context, s *parcelguard.Site) error {
	n, err := t.exec(ctx, `UPDATE sites SET name = $1, address = $2, lat = $3, lon = $4, time_zone = $5, opening_hours = $6,
		storage_period_ns = $7, decommissioned_at = $8, version = version + 1 WHERE id = $9 AND version = $10`,
		s.Name, s.Address, s.Lat, s.Lon, s.TimeZone, s.OpeningHours, int64(s.StoragePeriod), nanos(s.DecommissionedAt),
		s.ID, s.Version)
	if err := t.saved(ctx, n, err, "sites", "id", s.ID); err != nil {
		return fmt.Errorf("save site %s: %w", s.ID, err)
	}
	s.Version++
	return nil
}

// Carriers lists carriers in id order.
func (t *tx) Carriers(ctx context.Context, f parcelguard.CarrierFilter) ([]*parcelguard.Carrier, error) {
	var out []*parcelguard.Carrier
	err := t.query(ctx, `SELECT id, name, phone_factor, storage_period_ns, created_at, version FROM carriers
		WHERE id > $1 ORDER BY id LIMIT $2`, []any{f.After, limitArg(f.Limit)}, func(row scanRow) error {
		var (
			c               parcelguard.Carrier
			period, created int64
		)
		if err := row.Scan(&c.ID, &c.Name, &c.PhoneFactor, &period, &created, &c.Version); err != nil {
			return err
		}
		c.StoragePeriod, c.CreatedAt = time.Duration(period), fromNanos(created)
		out = append(out, &c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list carriers: %w", dbErr(err))
	}
	return out, nil
}

// SaveCarrier overwrites the carrier's fields if its Version is current,
// and bumps Version.
func (t *tx) SaveCarrier(ctx context.Context, c *parcelguard.Carrier) error {
	n, err := t.exec(ctx, `UPDATE carriers SET name = $1, phone_factor = $2, storage_period_ns = $3, version = version + 1
		WHERE id = $4 AND version = $5`,
		c.Name, c.PhoneFactor, int64(c.StoragePeriod), c.ID, c.Version)
	if err := t.saved(ctx, n, err, "carriers", "id", c.ID); err != nil {
		return fmt.Errorf("save carrier %s: %w", c.ID, err)
	}
	c.Version++
	return nil
}

// CarrierPolicy returns the carrier's policy or the default one.
func (t *tx) CarrierPolicy(ctx context.Context, carrierID string) (*parcelguard.CarrierPolicy, error) {
	var (
		p        parcelguard.CarrierPolicy
		fallback string
		maxM     int64
		updated  int64
	)
	err := t.queryRow(ctx, `SELECT carrier_id, fallback, max_distance_m, updated_at FROM carrier_policies WHERE carrier_id = $1`,
		[]any{carrierID}, &p.CarrierID, &fallback, &maxM, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return parcelguard.DefaultCarrierPolicy(carrierID), nil
	}
	if err != nil {
		return nil, fmt.Errorf("policy of carrier %s: %w", carrierID, dbErr(err))
	}
	p.Fallback, p.MaxDistanceM, p.UpdatedAt = parcelguard.FallbackMode(fallback), int(maxM), fromNanos(updated)
	return &p, nil
}

// SaveCarrierPolicy upserts the policy.
func (t *tx) SaveCarrierPolicy(ctx context.Context, p *parcelguard.CarrierPolicy) error {
	_, err := t.exec(ctx, `INSERT INTO carrier_policies (carrier_id, fallback, max_distance_m, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (carrier_id) DO UPDATE SET fallback = excluded.fallback, max_distance_m = excluded.max_distance_m,
		updated_at = excluded.updated_at`,
		p.CarrierID, string(p.Fallback), int64(p.MaxDistanceM), nanos(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save policy of carrier %s: %w", p.CarrierID, dbErr(err))
	}
	return nil
}

// APIKeys lists keys in prefix order.
func (t *tx) APIKeys(ctx context.Context, f parcelguard.APIKeyFilter) ([]*parcelguard.APIKey, error) {
	var out []*parcelguard.APIKey
	err := t.query(ctx, `SELECT prefix, secret_hash, role, carrier_id, site_id, name, created_at, revoked_at
		FROM api_keys WHERE prefix > $1 AND ($2 = '' OR carrier_id = $2) AND ($3 = '' OR role = $3)
		ORDER BY prefix LIMIT $4`,
		[]any{f.After, f.CarrierID, string(f.Role), limitArg(f.Limit)}, func(row scanRow) error {
			var (
				k                parcelguard.APIKey
				role             string
				carrier, site    pgtype.Text
				created, revoked int64
			)
			if err := row.Scan(&k.Prefix, &k.SecretHash, &role, &carrier, &site, &k.Name, &created, &revoked); err != nil {
				return err
			}
			k.Role = parcelguard.Role(role)
			k.SecretHash = bytesOrNil(k.SecretHash)
			k.CarrierID, k.SiteID = carrier.String, site.String
			k.CreatedAt, k.RevokedAt = fromNanos(created), fromNanos(revoked)
			out = append(out, &k)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", dbErr(err))
	}
	return out, nil
}

// RevokeAPIKey marks the key revoked, keeping an earlier revocation time.
func (t *tx) RevokeAPIKey(ctx context.Context, prefix string, at time.Time) error {
	n, err := t.exec(ctx, `UPDATE api_keys SET revoked_at = CASE WHEN revoked_at = 0 THEN $1 ELSE revoked_at END
		WHERE prefix = $2`, nanos(at), prefix)
	if err := mustHaveUpdated(n, err); err != nil {
		return fmt.Errorf("revoke api key %s: %w", prefix, err)
	}
	return nil
}

const delegateColumns = `grant_id, parcel_id, name, email, phone, created_at`

func scanDelegate(row scanRow) (*parcelguard.Delegate, error) {
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
	_, err := t.exec(ctx, `INSERT INTO delegates (`+delegateColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		d.GrantID, d.ParcelID, d.Name, d.Email, d.Phone, nanos(d.CreatedAt))
	if err != nil {
		return fmt.Errorf("create delegate of grant %s: %w", d.GrantID, dbErr(err))
	}
	return nil
}

// Delegate returns the delegate of a grant.
func (t *tx) Delegate(ctx context.Context, grantID string) (*parcelguard.Delegate, error) {
	if v, ok := t.take(delegateKey(grantID)); ok {
		if d, _ := v.(*parcelguard.Delegate); d != nil {
			return d, nil
		}
		return nil, fmt.Errorf("delegate of grant %s: %w", grantID, parcelguard.ErrNotFound)
	}
	var d *parcelguard.Delegate
	err := t.run(ctx, `SELECT `+delegateColumns+` FROM delegates WHERE grant_id = $1`, []any{grantID},
		oneRow(func(row scanRow) (err error) {
			d, err = scanDelegate(row)
			return err
		}))
	if err != nil {
		return nil, fmt.Errorf("delegate of grant %s: %w", grantID, dbErr(err))
	}
	return d, nil
}

// DelegatesOfParcel returns the parcel's delegates, oldest first.
func (t *tx) DelegatesOfParcel(ctx context.Context, parcelID string) ([]*parcelguard.Delegate, error) {
	var out []*parcelguard.Delegate
	err := t.query(ctx, `SELECT `+delegateColumns+` FROM delegates WHERE parcel_id = $1 ORDER BY created_at, grant_id`,
		[]any{parcelID}, func(row scanRow) error {
			d, err := scanDelegate(row)
			out = append(out, d)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("delegates of parcel %s: %w", parcelID, dbErr(err))
	}
	return out, nil
}
