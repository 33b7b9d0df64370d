package parcelguard

import "time"

// Outage policy. A parcel held in a locker that is out of service or
// unreachable, or in a compartment that is out of order, cannot be picked
// up, so its storage clock stops: the expiry and reminder timers are
// suspended while the outage lasts, and when it ends the deadline becomes
// ExtendedDeadline(old deadline, outage start, outage end).
const (
	// DefaultUnreachableAfter is how long a locker may stay silent (no
	// heartbeat, no event) before the cloud declares it unreachable.
	DefaultUnreachableAfter = 10 * time.Minute
	// MinPickupAfterOutage is the least time a recipient gets to collect a
	// parcel after an outage ends, however close the old deadline was.
	MinPickupAfterOutage = 24 * time.Hour
)

// ExtendedDeadline is the outage rule: the deadline moves by the length of
// the outage (the recipient loses none of their storage time), and is
// never less than MinPickupAfterOutage after the outage ended (an outage
// shortly before the deadline still leaves a full day to collect). The new
// deadline is never earlier than the old one and is rounded up to the
// second. An end before the start counts as an outage of no length.
func ExtendedDeadline(deadline, start, end time.Time) time.Time {
	d := deadline
	if length := end.Sub(start); length > 0 {
		d = deadline.Add(length)
	}
	if floor := end.Add(MinPickupAfterOutage); d.Before(floor) {
		d = floor
	}
	if t := d.Truncate(time.Second); t.Before(d) {
		d = t.Add(time.Second)
	}
	return d
}

// LockerStatus is the cloud's view of one locker site's availability.
type LockerStatus struct {
	SiteID string
	// LastSeen is when the locker was last heard from; zero if never. A
	// site never heard from is not watched for silence.
	LastSeen time.Time
	// Unreachable is set when the locker stayed silent longer than the
	// configured limit; UnreachableSince is its last sign of life.
	Unreachable      bool
	UnreachableSince time.Time
	// OutOfService is an operator's decision (repair, vandalism, site
	// closed); OutOfServiceSince is when it was taken.
	OutOfService      bool
	OutOfServiceSince time.Time
	OutOfServiceNote  string
	Version           int64
}

// Down reports whether the site holds its parcels hostage, and since when.
func (s *LockerStatus) Down() (bool, time.Time) {
	switch {
	case s.Unreachable && s.OutOfService:
		return true, earliest(s.UnreachableSince, s.OutOfServiceSince)
	case s.Unreachable:
		return true, s.UnreachableSince
	case s.OutOfService:
		return true, s.OutOfServiceSince
	}
	return false, time.Time{}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// OutageCause says why a parcel is held.
type OutageCause string

// Outage causes.
const (
	CauseUnreachable  OutageCause = "unreachable"
	CauseOutOfService OutageCause = "out_of_service"
	CauseCompartment  OutageCause = "compartment_out_of_order"
)

// ParcelHold records that an outage holds a deposited parcel: its timers
// are suspended from Since until the hold is released.
type ParcelHold struct {
	ParcelID      string
	SiteID        string
	CompartmentID string
	Cause         OutageCause
	// Since is when the outage began for this parcel (the locker's last
	// sign of life, the operator's action, or when the broken compartment
	// was noticed), never before the parcel's deposit.
	Since time.Time
	// Deadline is the parcel's deadline when the hold began.
	Deadline time.Time
}

// Outage event kinds.
const (
	EventSiteUnreachable        EventKind = "site.unreachable"
	EventSiteReachable          EventKind = "site.reachable"
	EventSiteOutOfService       EventKind = "site.out_of_service"
	EventSiteBackInService      EventKind = "site.back_in_service"
	EventParcelStorageHeld      EventKind = "parcel.storage_held"
	EventParcelDeadlineExtended EventKind = "parcel.deadline_extended"
)

// Outage message kinds.
const (
	// MessageOutage tells the recipient their parcel's locker is out of
	// service, that the parcel is safe and that the deadline is extended.
	MessageOutage MessageKind = "outage"
	// MessageDeadlineExtended tells the recipient the locker works again
	// and gives the new deadline.
	MessageDeadlineExtended MessageKind = "deadline_extended"
)
