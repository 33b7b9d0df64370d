package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/parcelguard/parcelguard"
)

// jsonList encodes a string list for a TEXT column ("[]" for none).
func jsonList(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v) // a []string always marshals
	return string(b)
}

// parseList decodes a TEXT column written by jsonList.
func parseList(s string) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	if len(v) == 0 {
		return nil, nil
	}
	return v, nil
}

// parseDate decodes a delivery date column ("" is the zero date).
func parseDate(s string) (parcelguard.DeliveryDate, error) {
	if s == "" {
		return parcelguard.DeliveryDate{}, nil
	}
	return parcelguard.ParseDeliveryDate(s)
}

const policyColumns = `carrier_id, value_threshold, currency, categories, shipment_flag, recipient_opt_in,
	max_attempts, fallback, radius_m, locker_search_m, updated_at, version`

// SaveDoorstepPolicy creates (Version 0) or updates the carrier's policy.
func (t *tx) SaveDoorstepPolicy(ctx context.Context, p *parcelguard.DoorstepPolicy) error {
	args := []any{p.CarrierID, p.ValueThreshold, p.Currency, jsonList(p.Categories), p.ShipmentFlag,
		p.RecipientOptIn, p.MaxAttempts, string(p.Fallback), p.RadiusM, p.LockerSearchM, nanos(p.UpdatedAt)}
	if p.Version == 0 {
		if _, err := t.exec(ctx, `INSERT INTO doorstep_policies (`+policyColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1)`, args...); err != nil {
			return fmt.Errorf("create doorstep policy of %s: %w", p.CarrierID, dbErr(err))
		}
		p.Version = 1
		return nil
	}
	n, err := t.exec(ctx, `UPDATE doorstep_policies SET value_threshold = $2, currency = $3, categories = $4,
		shipment_flag = $5, recipient_opt_in = $6, max_attempts = $7, fallback = $8, radius_m = $9,
		locker_search_m = $10, updated_at = $11, version = version + 1 WHERE carrier_id = $1 AND version = $12`,
		append(args, p.Version)...)
	if err := t.saved(ctx, n, err, "doorstep_policies", "carrier_id", p.CarrierID); err != nil {
		return fmt.Errorf("save doorstep policy of %s: %w", p.CarrierID, err)
	}
	p.Version++
	return nil
}

// DoorstepPolicy returns the carrier's saved policy.
func (t *tx) DoorstepPolicy(ctx context.Context, carrierID string) (*parcelguard.DoorstepPolicy, error) {
	var (
		p              parcelguard.DoorstepPolicy
		cats, fallback string
		updated        int64
	)
	err := t.queryRow(ctx, `SELECT `+policyColumns+` FROM doorstep_policies WHERE carrier_id = $1`, []any{carrierID},
		&p.CarrierID, &p.ValueThreshold, &p.Currency, &cats, &p.ShipmentFlag, &p.RecipientOptIn, &p.MaxAttempts,
		&fallback, &p.RadiusM, &p.LockerSearchM, &updated, &p.Version)
	if err != nil {
		return nil, fmt.Errorf("get doorstep policy of %s: %w", carrierID, dbErr(err))
	}
	if p.Categories, err = parseList(cats); err != nil {
		return nil, fmt.Errorf("doorstep policy of %s: %w", carrierID, err)
	}
	p.Fallback, p.UpdatedAt = parcelguard.DoorstepFallback(fallback), fromNanos(updated)
	return &p, nil
}

const doorstepColumns = `parcel_id, carrier_id, address, lat, lon, time_zone, country, password_reason,
	delivery_date, route_seq, attempts, failures, locked, last_reason, created_at, updated_at, version`

func scanDoorstep(row scanRow) (*parcelguard.Doorstep, error) {
	var (
		d                  parcelguard.Doorstep
		reason, date, last string
		created, updatedAt int64
	)
	if err := row.Scan(&d.ParcelID, &d.CarrierID, &d.Address, &d.Lat, &d.Lon, &d.TimeZone, &d.Country, &reason,
		&date, &d.RouteSeq, &d.Attempts, &d.Failures, &d.Locked, &last, &created, &updatedAt, &d.Version); err != nil {
		return nil, err
	}
	var err error
	if d.Date, err = parseDate(date); err != nil {
		return nil, err
	}
	d.PasswordReason, d.LastReason = parcelguard.PasswordReason(reason), parcelguard.AttemptReason(last)
	d.CreatedAt, d.UpdatedAt = fromNanos(created), fromNanos(updatedAt)
	return &d, nil
}

// CreateDoorstep inserts d with Version 1.
func (t *tx) CreateDoorstep(ctx context.Context, d *parcelguard.Doorstep) error {
	_, err := t.exec(ctx, `INSERT INTO doorstep_deliveries (`+doorstepColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1)`,
		d.ParcelID, d.CarrierID, d.Address, d.Lat, d.Lon, d.TimeZone, d.Country, string(d.PasswordReason),
		d.Date.String(), d.RouteSeq, d.Attempts, d.Failures, d.Locked, string(d.LastReason),
		nanos(d.CreatedAt), nanos(d.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create doorstep record of %s: %w", d.ParcelID, dbErr(err))
	}
	d.Version = 1
	return nil
}

// Doorstep returns the parcel's doorstep record.
func (t *tx) Doorstep(ctx context.Context, parcelID string) (*parcelguard.Doorstep, error) {
	var d *parcelguard.Doorstep
	err := t.run(ctx, `SELECT `+doorstepColumns+` FROM doorstep_deliveries WHERE parcel_id = $1`, []any{parcelID},
		oneRow(func(row scanRow) (err error) {
			d, err = scanDoorstep(row)
			return err
		}))
	if err != nil {
		return nil, fmt.Errorf("get doorstep record of %s: %w", parcelID, dbErr(err))
	}
	return d, nil
}

// Doorsteps lists records in route order.
func (t *tx) Doorsteps(ctx context.Context, f parcelguard.DoorstepFilter) ([]*parcelguard.Doorstep, error) {
	var out []*parcelguard.Doorstep
	err := t.query(ctx, `SELECT `+doorstepColumns+` FROM doorstep_deliveries
		WHERE ($1 = '' OR carrier_id = $1) AND ($2 = '' OR delivery_date = $2)
		ORDER BY route_seq = 0, route_seq, parcel_id LIMIT $3`,
		[]any{f.CarrierID, f.Date.String(), limitArg(f.Limit)}, func(row scanRow) error {
			d, err := scanDoorstep(row)
			out = append(out, d)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("list doorstep records: %w", dbErr(err))
	}
	return out, nil
}

// SaveDoorstep updates d if its Version is current, and bumps Version.
func (t *tx) SaveDoorstep(ctx context.Context, d *parcelguard.Doorstep) error {
	n, err := t.exec(ctx, `UPDATE doorstep_deliveries SET carrier_id = $1, address = $2, lat = $3, lon = $4,
		time_zone = $5, country = $6, password_reason = $7, delivery_date = $8, route_seq = $9, attempts = $10,
		failures = $11, locked = $12, last_reason = $13, created_at = $14, updated_at = $15, version = version + 1
		WHERE parcel_id = $16 AND version = $17`,
		d.CarrierID, d.Address, d.Lat, d.Lon, d.TimeZone, d.Country, string(d.PasswordReason), d.Date.String(),
		d.RouteSeq, d.Attempts, d.Failures, d.Locked, string(d.LastReason), nanos(d.CreatedAt),
		nanos(d.UpdatedAt), d.ParcelID, d.Version)
	if err := t.saved(ctx, n, err, "doorstep_deliveries", "parcel_id", d.ParcelID); err != nil {
		return fmt.Errorf("save doorstep record of %s: %w", d.ParcelID, err)
	}
	d.Version++
	return nil
}

const passwordColumns = `id, parcel_id, holder, delegate_name, state, key_id, code_hash, code_sealed,
	delivery_date, not_before, expires_at, used_at, created_at, version`

func scanPassword(row scanRow) (*parcelguard.DoorstepPassword, error) {
	var (
		p                                 parcelguard.DoorstepPassword
		holder, state, date               string
		notBefore, expires, used, created int64
	)
	if err := row.Scan(&p.ID, &p.ParcelID, &holder, &p.DelegateName, &state, &p.KeyID, &p.CodeHash, &p.CodeSealed,
		&date, &notBefore, &expires, &used, &created, &p.Version); err != nil {
		return nil, err
	}
	var err error
	if p.Date, err = parseDate(date); err != nil {
		return nil, err
	}
	p.Holder, p.State = parcelguard.PasswordHolder(holder), parcelguard.GrantState(state)
	p.CodeHash, p.CodeSealed = bytesOrNil(p.CodeHash), bytesOrNil(p.CodeSealed)
	p.NotBefore, p.ExpiresAt, p.UsedAt, p.CreatedAt = fromNanos(notBefore), fromNanos(expires), fromNanos(used), fromNanos(created)
	return &p, nil
}

// CreateDoorstepPassword inserts p with Version 1.
func (t *tx) CreateDoorstepPassword(ctx context.Context, p *parcelguard.DoorstepPassword) error {
	_, err := t.exec(ctx, `INSERT INTO doorstep_passwords (`+passwordColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1)`,
		p.ID, p.ParcelID, string(p.Holder), p.DelegateName, string(p.State), p.KeyID, p.CodeHash,
		nullBytes(p.CodeSealed), p.Date.String(), nanos(p.NotBefore), nanos(p.ExpiresAt), nanos(p.UsedAt),
		nanos(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("create doorstep password %s: %w", p.ID, dbErr(err))
	}
	p.Version = 1
	return nil
}

// DoorstepPassword returns the password with the id.
func (t *tx) DoorstepPassword(ctx context.Context, id string) (*parcelguard.DoorstepPassword, error) {
	var p *parcelguard.DoorstepPassword
	err := t.run(ctx, `SELECT `+passwordColumns+` FROM doorstep_passwords WHERE id = $1`, []any{id},
		oneRow(func(row scanRow) (err error) {
			p, err = scanPassword(row)
			return err
		}))
	if err != nil {
		return nil, fmt.Errorf("get doorstep password %s: %w", id, dbErr(err))
	}
	return p, nil
}

// DoorstepPasswords returns every password of the parcel, oldest first.
func (t *tx) DoorstepPasswords(ctx context.Context, parcelID string) ([]*parcelguard.DoorstepPassword, error) {
	var out []*parcelguard.DoorstepPassword
	err := t.query(ctx, `SELECT `+passwordColumns+` FROM doorstep_passwords WHERE parcel_id = $1
		ORDER BY created_at, id`, []any{parcelID}, func(row scanRow) error {
		p, err := scanPassword(row)
		out = append(out, p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list doorstep passwords of %s: %w", parcelID, dbErr(err))
	}
	return out, nil
}

// SaveDoorstepPassword updates p if its Version is current, and bumps Version.
func (t *tx) SaveDoorstepPassword(ctx context.Context, p *parcelguard.DoorstepPassword) error {
	n, err := t.exec(ctx, `UPDATE doorstep_passwords SET parcel_id = $1, holder = $2, delegate_name = $3, state = $4,
		key_id = $5, code_hash = $6, code_sealed = $7, delivery_date = $8, not_before = $9, expires_at = $10,
		used_at = $11, created_at = $12, version = version + 1 WHERE id = $13 AND version = $14`,
		p.ParcelID, string(p.Holder), p.DelegateName, string(p.State), p.KeyID, p.CodeHash, nullBytes(p.CodeSealed),
		p.Date.String(), nanos(p.NotBefore), nanos(p.ExpiresAt), nanos(p.UsedAt), nanos(p.CreatedAt), p.ID, p.Version)
	if err := t.saved(ctx, n, err, "doorstep_passwords", "id", p.ID); err != nil {
		return fmt.Errorf("save doorstep password %s: %w", p.ID, err)
	}
	p.Version++
	return nil
}

const proofColumns = `parcel_id, holder, delegate_name, password_id, courier, lat, lon, distance_m, at, offline, recorded_at`

// CreateDoorstepProof stores the parcel's handover proof.
func (t *tx) CreateDoorstepProof(ctx context.Context, p *parcelguard.DoorstepProof) error {
	_, err := t.exec(ctx, `INSERT INTO doorstep_proofs (`+proofColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		p.ParcelID, string(p.Holder), p.DelegateName, p.PasswordID, p.Courier, p.Lat, p.Lon, p.DistanceM,
		nanos(p.At), p.Offline, nanos(p.RecordedAt))
	if err != nil {
		return fmt.Errorf("create doorstep proof of %s: %w", p.ParcelID, dbErr(err))
	}
	return nil
}

// DoorstepProof returns the parcel's handover proof.
func (t *tx) DoorstepProof(ctx context.Context, parcelID string) (*parcelguard.DoorstepProof, error) {
	var (
		p            parcelguard.DoorstepProof
		holder       string
		at, recorded int64
	)
	err := t.queryRow(ctx, `SELECT `+proofColumns+` FROM doorstep_proofs WHERE parcel_id = $1`, []any{parcelID},
		&p.ParcelID, &holder, &p.DelegateName, &p.PasswordID, &p.Courier, &p.Lat, &p.Lon, &p.DistanceM, &at,
		&p.Offline, &recorded)
	if err != nil {
		return nil, fmt.Errorf("get doorstep proof of %s: %w", parcelID, dbErr(err))
	}
	p.Holder = parcelguard.PasswordHolder(holder)
	p.At, p.RecordedAt = fromNanos(at), fromNanos(recorded)
	return &p, nil
}

const offlineColumns = `id, parcel_id, carrier_id, courier, key_id, code_hash, lat, lon, recorded_at, state,
	problems, created_at, verified_at, version`

func scanOffline(row scanRow) (*parcelguard.OfflineEntry, error) {
	var (
		e                           parcelguard.OfflineEntry
		state, problems             string
		recorded, created, verified int64
	)
	if err := row.Scan(&e.ID, &e.ParcelID, &e.CarrierID, &e.Courier, &e.KeyID, &e.CodeHash, &e.Lat, &e.Lon,
		&recorded, &state, &problems, &created, &verified, &e.Version); err != nil {
		return nil, err
	}
	var err error
	if e.Problems, err = parseList(problems); err != nil {
		return nil, err
	}
	e.State = parcelguard.OfflineState(state)
	e.RecordedAt, e.CreatedAt, e.VerifiedAt = fromNanos(recorded), fromNanos(created), fromNanos(verified)
	return &e, nil
}

// CreateOfflineEntry inserts e with Version 1.
func (t *tx) CreateOfflineEntry(ctx context.Context, e *parcelguard.OfflineEntry) error {
	_, err := t.exec(ctx, `INSERT INTO doorstep_offline (`+offlineColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1)`,
		e.ID, e.ParcelID, e.CarrierID, e.Courier, e.KeyID, e.CodeHash, e.Lat, e.Lon, nanos(e.RecordedAt),
		string(e.State), jsonList(e.Problems), nanos(e.CreatedAt), nanos(e.VerifiedAt))
	if err != nil {
		return fmt.Errorf("create offline entry %s: %w", e.ID, dbErr(err))
	}
	e.Version = 1
	return nil
}

// OfflineEntry returns the offline entry with the id.
func (t *tx) OfflineEntry(ctx context.Context, id string) (*parcelguard.OfflineEntry, error) {
	var e *parcelguard.OfflineEntry
	err := t.run(ctx, `SELECT `+offlineColumns+` FROM doorstep_offline WHERE id = $1`, []any{id},
		oneRow(func(row scanRow) (err error) {
			e, err = scanOffline(row)
			return err
		}))
	if err != nil {
		return nil, fmt.Errorf("get offline entry %s: %w", id, dbErr(err))
	}
	return e, nil
}

// OfflineEntries lists offline entries in creation order.
func (t *tx) OfflineEntries(ctx context.Context, f parcelguard.OfflineFilter) ([]*parcelguard.OfflineEntry, error) {
	var out []*parcelguard.OfflineEntry
	err := t.query(ctx, `SELECT `+offlineColumns+` FROM doorstep_offline
		WHERE ($1 = '' OR carrier_id = $1) AND ($2 = '' OR parcel_id = $2) AND ($3 = '' OR state = $3) AND id > $4
		ORDER BY id LIMIT $5`,
		[]any{f.CarrierID, f.ParcelID, string(f.State), f.After, limitArg(f.Limit)}, func(row scanRow) error {
			e, err := scanOffline(row)
			out = append(out, e)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("list offline entries: %w", dbErr(err))
	}
	return out, nil
}

// SaveOfflineEntry updates e if its Version is current, and bumps Version.
func (t *tx) SaveOfflineEntry(ctx context.Context, e *parcelguard.OfflineEntry) error {
	n, err := t.exec(ctx, `UPDATE doorstep_offline SET state = $1, problems = $2, verified_at = $3,
		version = version + 1 WHERE id = $4 AND version = $5`,
		string(e.State), jsonList(e.Problems), nanos(e.VerifiedAt), e.ID, e.Version)
	if err := t.saved(ctx, n, err, "doorstep_offline", "id", e.ID); err != nil {
		return fmt.Errorf("save offline entry %s: %w", e.ID, err)
	}
	e.Version++
	return nil
}
