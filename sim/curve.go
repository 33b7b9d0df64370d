package sim

import (
	"math"
	"time"
)

// Curve is a daily arrival curve: the relative weight of each hour of the
// day (local to the network). Parcels reach the lockers' courier queues at
// a rate proportional to the weight of the hour they fall in, spread evenly
// within the hour.
type Curve [24]float64

// DefaultCurve follows the shape of a locker network's deposit day: almost
// nothing at night, a steep morning ramp as vans leave the depots, a broad
// late-morning peak and a long afternoon tail.
var DefaultCurve = Curve{
	0.4, 0.2, 0.1, 0.1, 0.2, 0.8, 2.5, 5.5, 8, 9, 9, 8.5,
	7.5, 7, 7, 6.5, 6, 5, 4, 3, 2, 1.3, 0.9, 0.6,
}

// total is the sum of the weights.
func (c Curve) total() float64 {
	s := 0.0
	for _, w := range c {
		s += w
	}
	return s
}

// Valid reports whether every weight is finite and non-negative and at least
// one is positive.
func (c Curve) Valid() bool {
	for _, w := range c {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return false
		}
	}
	return c.total() > 0
}

// CDF returns the share of all arrivals of days days that have happened by
// offset since the start of the first day: 0 at 0, 1 from days×24 h on,
// piecewise linear in between.
func (c Curve) CDF(offset time.Duration, days int) float64 {
	if days <= 0 || offset <= 0 {
		return 0
	}
	span := time.Duration(days) * 24 * time.Hour
	if offset >= span {
		return 1
	}
	day := int(offset / (24 * time.Hour))
	within := offset - time.Duration(day)*24*time.Hour
	hour := int(within / time.Hour)
	frac := float64(within-time.Duration(hour)*time.Hour) / float64(time.Hour)
	tot := c.total()
	done := 0.0
	for h := range hour {
		done += c[h]
	}
	done += c[hour] * frac
	return (float64(day) + done/tot) / float64(days)
}

// Count returns how many of total arrivals spread over days days fall in
// [from, to). Counts of adjacent intervals add up exactly: the counts of a
// partition of the whole span sum to total.
func (c Curve) Count(total, days int, from, to time.Duration) int {
	if to <= from {
		return 0
	}
	at := func(d time.Duration) int { return int(math.Round(float64(total) * c.CDF(d, days))) }
	return at(to) - at(from)
}
