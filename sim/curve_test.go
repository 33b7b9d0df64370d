package sim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/parcelguard/parcelguard"
)

// Ensure the arrival curve's CDF runs from 0 to 1 through the hours in
// proportion to their weights.
func TestCurveCDF(t *testing.T) {
	flat := Curve{}
	for i := range flat {
		flat[i] = 1
	}
	night := Curve{}
	night[0] = 1 // everything between 00:00 and 01:00
	for _, tc := range []struct {
		name   string
		c      Curve
		days   int
		offset time.Duration
		want   float64
	}{
		{"start", DefaultCurve, 1, 0, 0},
		{"before start", DefaultCurve, 1, -time.Hour, 0},
		{"end", DefaultCurve, 1, 24 * time.Hour, 1},
		{"after end", DefaultCurve, 2, 72 * time.Hour, 1},
		{"flat half day", flat, 1, 12 * time.Hour, 0.5},
		{"flat quarter hour", flat, 1, 15 * time.Minute, 1.0 / 96},
		{"two days, first ends", flat, 2, 24 * time.Hour, 0.5},
		{"two days, 36 h", flat, 2, 36 * time.Hour, 0.75},
		{"night only, half past midnight", night, 1, 30 * time.Minute, 0.5},
		{"night only, 01:00", night, 1, time.Hour, 1},
		{"night only, second day 00:30", night, 2, 24*time.Hour + 30*time.Minute, 0.75},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.CDF(tc.offset, tc.days); math.Abs(got-tc.want) > 1e-12 {
				t.Fatalf("CDF(%v, %d) = %v, want %v", tc.offset, tc.days, got, tc.want)
			}
		})
	}
}

// Ensure counts over any partition of the arrival span add up to the total
// exactly, and the default curve's busy hours get more than its night.
func TestCurveCount(t *testing.T) {
	for _, tc := range []struct {
		total, days int
		step        time.Duration
	}{{480, 1, time.Minute}, {14_000_000, 1, time.Minute}, {7, 1, 5 * time.Minute}, {1000, 3, 13 * time.Minute}, {0, 1, time.Hour}} {
		sum, negative := 0, false
		span := time.Duration(tc.days) * 24 * time.Hour
		for off := time.Duration(0); off < span; off += tc.step {
			n := DefaultCurve.Count(tc.total, tc.days, off, off+tc.step)
			negative = negative || n < 0
			sum += n
		}
		if sum != tc.total || negative {
			t.Errorf("total %d over %d days in steps of %v: counts sum to %d (negative: %v)", tc.total, tc.days, tc.step, sum, negative)
		}
	}
	at := func(h int) int {
		return DefaultCurve.Count(100000, 1, time.Duration(h)*time.Hour, time.Duration(h+1)*time.Hour)
	}
	if night, peak := at(3), at(10); !(peak > 20*night) {
		t.Errorf("03:00-04:00 got %d, 10:00-11:00 got %d; want the peak far above the night", night, peak)
	}
	if !DefaultCurve.Valid() || (Curve{}).Valid() || (Curve{-1, 2}).Valid() || (Curve{math.NaN(), 1}).Valid() {
		t.Error("Valid misjudges a curve")
	}
}

// Ensure the delay model maps its inputs as documented.
func TestDelayAt(t *testing.T) {
	m := DefaultDelay
	for _, tc := range []struct {
		name  string
		u, z  float64
		want  time.Duration
		never bool
	}{
		{"never", 0.01, 0, 0, true},
		{"median", 0.5, 0, 150 * time.Minute, false},
		{"one sigma up", 0.5, 1, time.Duration(float64(150*time.Minute) * math.Exp(1.2)), false},
		{"floor of a minute", 0.5, -10, time.Minute, false},
		{"capped", 0.5, 10, 10 * 24 * time.Hour, false},
		{"just above never", 0.02, 0, 150 * time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, never := m.At(tc.u, tc.z)
			if never != tc.never || (!never && (d-tc.want).Abs() > time.Millisecond) {
				t.Fatalf("At(%v, %v) = %v, %v; want %v, %v", tc.u, tc.z, d, never, tc.want, tc.never)
			}
		})
	}
}

// Ensure drawn delays follow the model: most recipients within a day, a
// few after the 72 h deadline, 2 % never.
func TestDelayDistribution(t *testing.T) {
	m := DefaultDelay
	r := rand.New(rand.NewPCG(1, 2))
	const n = 200_000
	var never, day, late, hour int
	for range n {
		d, nv := m.Draw(r)
		switch {
		case nv:
			never++
			continue
		case d <= time.Hour:
			hour++
		}
		if d <= 24*time.Hour {
			day++
		}
		if d >= 72*time.Hour {
			late++
		}
	}
	for _, tc := range []struct {
		name     string
		got      int
		want     float64
		tolerant float64
	}{
		{"never", never, m.Never, 0.002},
		{"within an hour", hour, m.ShareWithin(time.Hour), 0.004},
		{"within a day", day, m.ShareWithin(24 * time.Hour), 0.003},
		{"after the deadline", late, 1 - m.Never - m.ShareWithin(72*time.Hour), 0.001},
	} {
		got := float64(tc.got) / n
		if math.Abs(got-tc.want) > tc.tolerant {
			t.Errorf("%s: %.4f of recipients, model says %.4f", tc.name, got, tc.want)
		}
	}
	if s := m.ShareWithin(24 * time.Hour); s < 0.9 {
		t.Errorf("only %.3f come within a day; most should", s)
	}
}

// Ensure sizes split exactly and picking follows the shares.
func TestMix(t *testing.T) {
	for _, tc := range []struct {
		mix  [4]float64
		n    int
		want [4]int
	}{
		{[4]float64{0.4, 0.35, 0.2, 0.05}, 100, [4]int{40, 35, 20, 5}},
		{[4]float64{1, 1, 1, 1}, 6, [4]int{2, 1, 2, 1}},
		{[4]float64{0, 0, 0, 1}, 3, [4]int{0, 0, 0, 3}},
		{[4]float64{0.4, 0.35, 0.2, 0.05}, 1, [4]int{0, 1, 0, 0}},
	} {
		got := splitMix(tc.mix, tc.n)
		if got != tc.want {
			t.Errorf("splitMix(%v, %d) = %v, want %v", tc.mix, tc.n, got, tc.want)
		}
	}
	if pickMix([4]float64{1, 1, 0, 0}, 0.49) != 0 || pickMix([4]float64{1, 1, 0, 0}, 0.51) != 1 || pickMix([4]float64{0, 0, 0, 1}, 0) != 3 {
		t.Error("pickMix misplaces a share")
	}
}

// Ensure phone numbers, e-mail addresses and tracking numbers lead back to
// their parcel.
func TestIdentities(t *testing.T) {
	for _, idx := range []int{0, 1, 2, 99_999_999, 14_000_000, 12345} {
		if got := indexOfPhone(phoneOf(idx)); got != idx%phoneMod {
			t.Errorf("phone of %d (%s) maps back to %d", idx, phoneOf(idx), got)
		}
		if got := indexOfEmail(emailOf(idx)); got != idx {
			t.Errorf("e-mail of %d maps back to %d", idx, got)
		}
		if got := indexOfTracking(trackingOf(idx)); got != idx {
			t.Errorf("tracking number of %d maps back to %d", idx, got)
		}
	}
	for _, bad := range []string{"", "+48600100200", "+485abcdefgh", "+4851234567"} {
		if indexOfPhone(bad) != -1 {
			t.Errorf("indexOfPhone(%q) should be -1", bad)
		}
	}
}

// Ensure ids are kept inline exactly, and a too-long one is refused.
func TestPackID(t *testing.T) {
	for _, s := range []string{"", "par_01m97y8vb0gxhk777fd6djjk72", "cmp_7zzzzzzzzzzzzzzzzzzzzzzzzz", "zzz_00000000000000000000000000",
		parcelguard.NewID("par", time.Now()), strings.Repeat("x", maxIDLen), "par_01M97Y8VB0GXHK777FD6DJJK72"[:maxIDLen]} {
		x, ok := packID(s)
		if !ok || x.String() != s {
			t.Errorf("packID(%q) = %q, %v", s, x, ok)
		}
	}
	// Too long as text and not a parcelguard id: upper case, a letter
	// outside the alphabet, more than 128 bits, a digit in the prefix.
	for _, s := range []string{strings.Repeat("x", maxIDLen+1), "par_01M97Y8VB0GXHK777FD6DJJK72", "par_01m97y8vb0gxhk777fd6djjk7u",
		"par_8zzzzzzzzzzzzzzzzzzzzzzzzz", "p4r_01m97y8vb0gxhk777fd6djjk72"} {
		if x, ok := packID(s); ok {
			t.Errorf("packID(%q) = %q, want refused", s, x)
		}
	}
	if n := unsafe.Sizeof(parcelRec{}); n > 72 {
		t.Errorf("a parcel record takes %d bytes; the peak-day preset's memory budget assumes 72", n)
	}
}
