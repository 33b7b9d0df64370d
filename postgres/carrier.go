package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
)

// CreateCarrier inserts c with Version 1.
func (t *tx) CreateCarrier(ctx context.Context, c *parcelguard.Carrier) error {
	_, err := t.exec(ctx, `INSERT INTO carriers (id, name, phone_factor, storage_period_ns, created_at, version) VALUES ($1, $2, $3, $4, $5, 1)`,
		c.ID, c.Name, c.PhoneFactor, int64(c.StoragePeriod), nanos(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("create carrier %s: %w", c.ID, dbErr(err))
	}
	c.Version = 1
	return nil
}

const carrierColumns = `id, name, phone_factor, storage_period_ns, created_at, version`

func scanCarrier(row scanRow) (*parcelguard.Carrier, error) {
	var (
		c               parcelguard.Carrier
		period, created int64
	)
	if err := row.Scan(&c.ID, &c.Name, &c.PhoneFactor, &period, &created, &c.Version); err != nil {
		return nil, err
	}
	c.StoragePeriod = time.Duration(period)
	c.CreatedAt = fromNanos(created)
	return &c, nil
}

// Carrier returns the carrier with the id.
func (t *tx) Carrier(ctx context.Context, id string) (*parcelguard.Carrier, error) {
	if v, ok := t.take(carrierKey(id)); ok {
		if c, _ := v.(*parcelguard.Carrier); c != nil {
			return c, nil
		}
		return nil, fmt.Errorf("get carrier %s: %w", id, parcelguard.ErrNotFound)
	}
	var c *parcelguard.Carrier
	err := t.run(ctx, `SELECT `+carrierColumns+` FROM carriers WHERE id = $1`, []any{id}, oneRow(func(row scanRow) (err error) {
		c, err = scanCarrier(row)
		return err
	}))
	if err != nil {
		return nil, fmt.Errorf("get carrier %s: %w", id, dbErr(err))
	}
	return c, nil
}
