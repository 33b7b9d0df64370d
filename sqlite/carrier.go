package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
)

// CreateCarrier inserts c with Version 1.
func (t *tx) CreateCarrier(ctx context.Context, c *parcelguard.Carrier) error {
	_, err := t.exec(ctx, `INSERT INTO carriers (id, name, phone_factor, storage_period_ns, created_at, version) VALUES (?, ?, ?, ?, ?, 1)`,
		c.ID, c.Name, boolInt(c.PhoneFactor), int64(c.StoragePeriod), nanos(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("create carrier %s: %w", c.ID, dbErr(err))
	}
	c.Version = 1
	return nil
}

// Carrier returns the carrier with the id.
func (t *tx) Carrier(ctx context.Context, id string) (*parcelguard.Carrier, error) {
	var (
		c               parcelguard.Carrier
		period, created int64
	)
	err := t.queryRow(ctx, `SELECT id, name, phone_factor, storage_period_ns, created_at, version FROM carriers WHERE id = ?`, id).
		Scan(&c.ID, &c.Name, &c.PhoneFactor, &period, &created, &c.Version)
	if err != nil {
		return nil, fmt.Errorf("get carrier %s: %w", id, dbErr(err))
	}
	c.StoragePeriod = time.Duration(period)
	c.CreatedAt = fromNanos(created)
	return &c, nil
}
