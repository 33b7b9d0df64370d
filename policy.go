package parcelguard

import "time"

// Storage and reminder policy.
const (
	// DefaultStoragePeriod is how long a deposited parcel waits for pickup.
	DefaultStoragePeriod = 72 * time.Hour
	// MaxStoragePeriod bounds any per-site or per-carrier override.
	MaxStoragePeriod = 14 * 24 * time.Hour
	// ReminderLead is how long before the deadline the recipient is reminded.
	ReminderLead = 24 * time.Hour
	// PhoneFactorDigits is how many trailing phone digits the second factor asks for.
	PhoneFactorDigits = 4
)

// StoragePeriod resolves the storage period of a parcel: the site's override
// first, then the carrier's, then the default.
func StoragePeriod(site *Site, carrier *Carrier) time.Duration {
	if site != nil && site.StoragePeriod > 0 {
		return site.StoragePeriod
	}
	if carrier != nil && carrier.StoragePeriod > 0 {
		return carrier.StoragePeriod
	}
	return DefaultStoragePeriod
}
