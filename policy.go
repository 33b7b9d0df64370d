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

// LockerGuard is a site's failure budget against code guessing (SECURITY.md
// 8–9). It lives in the store so restarts and parallel sessions share it.
type LockerGuard struct {
	SiteID string
	// Failures counts failed attempts since WindowStart.
	Failures    int
	WindowStart time.Time
	// LastFailure is when the latest failed attempt happened.
	LastFailure time.Time
	// BlockedUntil is when the kiosk accepts the next attempt.
	BlockedUntil time.Time
	// Alarmed is set once the operator alarm for this window was raised.
	Alarmed bool
	Version int64
}

// Guard policy. The first GuardFreeFailures failures in a window cost
// nothing (people mistype); every later one blocks the kiosk for a delay that
// doubles from GuardMinDelay up to GuardMaxDelay. The operator is alarmed at
// GuardAlarmAt failures. A window ends after GuardQuietPeriod without failures.
const (
	GuardFreeFailures = 3
	GuardMinDelay     = 30 * time.Second
	GuardMaxDelay     = time.Hour
	GuardAlarmAt      = 10
	GuardQuietPeriod  = 24 * time.Hour
)

// Blocked returns how long the kiosk must still wait at now, or zero.
func (g *LockerGuard) Blocked(now time.Time) time.Duration {
	if now.Before(g.BlockedUntil) {
		return g.BlockedUntil.Sub(now)
	}
	return 0
}

// Fail records one failed attempt at now. It returns the delay imposed and
// whether this failure should raise the operator alarm.
func (g *LockerGuard) Fail(now time.Time) (delay time.Duration, alarm bool) {
	if g.Failures > 0 && now.Sub(g.LastFailure) >= GuardQuietPeriod {
		g.Failures, g.Alarmed = 0, false
	}
	if g.Failures == 0 {
		g.WindowStart = now
	}
	g.Failures++
	g.LastFailure = now
	if over := g.Failures - GuardFreeFailures; over > 0 {
		delay = GuardMinDelay
		for i := 1; i < over && delay < GuardMaxDelay; i++ {
			delay *= 2
		}
		delay = min(delay, GuardMaxDelay)
		g.BlockedUntil = now.Add(delay)
	}
	if g.Failures >= GuardAlarmAt && !g.Alarmed {
		g.Alarmed, alarm = true, true
	}
	return delay, alarm
}
