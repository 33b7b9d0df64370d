package parcelguard

import "time"

// Carrier is a company that hands parcels to parcelguard.
type Carrier struct {
	ID   string
	Name string
	// PhoneFactor requires the last digits of the recipient's phone number
	// beside the PIN at pickup (SECURITY.md 6). On by default.
	PhoneFactor bool
	// StoragePeriod overrides the default storage period; zero means none.
	StoragePeriod time.Duration
	CreatedAt     time.Time
	// Version counts saves, for optimistic concurrency (1 when created).
	Version int64
}

// Validate reports every invalid field of a new carrier.
func (c *Carrier) Validate() error {
	var f []FieldError
	if c.Name == "" || len(c.Name) > 200 {
		f = append(f, FieldError{"name", "must be 1 to 200 characters"})
	}
	if c.StoragePeriod < 0 || c.StoragePeriod > MaxStoragePeriod {
		f = append(f, FieldError{"storage_period", "must be between 0 and 14 days"})
	}
	if len(f) > 0 {
		return Invalid(f...)
	}
	return nil
}
