package parcelguard

import (
	"fmt"
	"time"
)

// DeliveryDate is a calendar date in the recipient's time zone: the day a
// doorstep delivery is attempted. It has no time and no zone of its own.
type DeliveryDate struct {
	Year  int
	Month time.Month
	Day   int
}

// DeliveryDateOf returns the date of instant t in loc.
func DeliveryDateOf(t time.Time, loc *time.Location) DeliveryDate {
	y, m, d := t.In(loc).Date()
	return DeliveryDate{y, m, d}
}

// ParseDeliveryDate parses "2006-01-02".
func ParseDeliveryDate(s string) (DeliveryDate, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return DeliveryDate{}, fmt.Errorf("delivery date %q: must be YYYY-MM-DD", s)
	}
	return DeliveryDate{t.Year(), t.Month(), t.Day()}, nil
}

// String renders the date as "2006-01-02"; the zero date as "".
func (d DeliveryDate) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// IsZero reports whether d is the zero date.
func (d DeliveryDate) IsZero() bool { return d == DeliveryDate{} }

// civil returns d at noon UTC, for calendar arithmetic that must not be
// disturbed by any zone's transitions.
func (d DeliveryDate) civil() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
}

// AddDays returns the date n days later (earlier for negative n).
func (d DeliveryDate) AddDays(n int) DeliveryDate {
	y, m, dd := d.civil().AddDate(0, 0, n).Date()
	return DeliveryDate{y, m, dd}
}

// Weekday returns the day of the week of d.
func (d DeliveryDate) Weekday() time.Weekday { return d.civil().Weekday() }

// Before reports whether d is earlier than e.
func (d DeliveryDate) Before(e DeliveryDate) bool { return d.civil().Before(e.civil()) }

// StartIn returns the first instant of d in loc. It is not always
// midnight: where a transition skips midnight (Havana, Santiago), the day
// starts at 01:00.
func (d DeliveryDate) StartIn(loc *time.Location) (time.Time, error) {
	prev := d.AddDays(-1)
	return prev.EndIn(loc)
}

// EndIn returns the instant d ends in loc, exclusive: the first instant
// whose local date is after d. A delivery password of date d works while
// now is before it. The answer is exact across every transition of the
// zone (23- and 25-hour days, transitions at midnight, half-hour shifts,
// skipped dates), because it searches the instants rather than assuming
// the next day begins at a local 00:00. It fails if d does not exist in
// loc (a date skipped by a change of the date line).
func (d DeliveryDate) EndIn(loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	// Noon exists on every real date (transitions happen at night), and
	// time.Date moves a time in a gap by the gap's length, which keeps it
	// on the same date.
	lo := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, loc)
	if DeliveryDateOf(lo, loc) != d {
		return time.Time{}, fmt.Errorf("date %s does not exist in %s", d, loc)
	}
	// Every date lasts less than 36 hours past its noon, even with a date
	// line change; find the first whole second after the date.
	hi := lo.Add(36 * time.Hour)
	after := func(t time.Time) bool { return d.Before(DeliveryDateOf(t, loc)) }
	if !after(hi) {
		return time.Time{}, fmt.Errorf("date %s in %s lasts beyond 36 hours after noon", d, loc)
	}
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
		if mid.Equal(lo) {
			mid = lo.Add(time.Second)
		}
		if after(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi.UTC(), nil
}

// LoadZone returns the IANA zone name's location, or an invalid-field
// error naming field.
func LoadZone(field, name string) (*time.Location, error) {
	if name == "" {
		return nil, Invalid(FieldError{field, "is required"})
	}
	loc, err := loadLocation(name)
	if err != nil || name == "Local" {
		return nil, Invalid(FieldError{field, "must be an IANA time zone such as Europe/Berlin"})
	}
	return loc, nil
}
