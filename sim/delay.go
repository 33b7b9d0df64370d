package sim

import (
	"math"
	"math/rand/v2"
	"time"
)

// DelayModel is how long recipients take to come for a parcel after its
// deposit notice: most within hours, a long tail over days, and a share who
// never come (their parcels expire and go back).
type DelayModel struct {
	// Median is the median delay of the recipients who come.
	Median time.Duration
	// Sigma is the standard deviation of the delay's natural logarithm.
	Sigma float64
	// Never is the share of recipients who never come.
	Never float64
	// Max caps a drawn delay (a recipient who would come later is treated
	// as one who comes at Max, well after any deadline).
	Max time.Duration
}

// DefaultDelay: median 2.5 h, 96 % of those who come do so within a day,
// about 0.3 % come after the 72 h deadline, and 2 % never come.
var DefaultDelay = DelayModel{Median: 150 * time.Minute, Sigma: 1.2, Never: 0.02, Max: 10 * 24 * time.Hour}

// At maps a uniform u in [0, 1) (deciding "never") and a standard normal z
// (deciding the delay) to a delay; never reports a recipient who does not
// come. It is the deterministic core of Draw.
func (m DelayModel) At(u, z float64) (d time.Duration, never bool) {
	if u < m.Never {
		return 0, true
	}
	f := float64(m.Median) * math.Exp(m.Sigma*z)
	if m.Max > 0 && f > float64(m.Max) {
		return m.Max, false
	}
	return max(time.Duration(f), time.Minute), false
}

// Draw draws one recipient's delay.
func (m DelayModel) Draw(r *rand.Rand) (time.Duration, bool) {
	return m.At(r.Float64(), r.NormFloat64())
}

// ShareWithin is the model's probability that a recipient comes within d.
func (m DelayModel) ShareWithin(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	z := math.Log(float64(d)/float64(m.Median)) / m.Sigma
	return (1 - m.Never) * 0.5 * math.Erfc(-z/math.Sqrt2)
}
