// Package sim drives a whole simulated locker network through the real
// service on a compressed clock: carriers announce parcels along a daily
// curve, couriers deposit them and collect expired ones on rounds,
// recipients come after a drawn delay (or never), attackers guess PINs at
// kiosks within the guard's limits, reminders and expiry fire through the
// real scheduler and notifications go out through the real outbox. It
// checks the invariants of DESIGN.md §3 while it runs and at the end, and
// reports what happened as a JSON summary and an HTML page.
package sim

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Config describes one simulation run.
type Config struct {
	// Preset names the preset the config came from, for the report.
	Preset string `json:"preset"`
	// Scale is the fraction of the preset's network and parcels simulated.
	Scale float64 `json:"scale"`
	Seed  uint64  `json:"seed"`
	// Start is when the simulated clock starts (midnight of the first
	// arrival day).
	Start time.Time `json:"start"`

	Sites int `json:"sites"`
	// CompartmentsPerSite is the mean; sites vary from half to one and a
	// half times it.
	CompartmentsPerSite int `json:"compartments_per_site"`
	// CompartmentMix and ParcelMix are the shares of S, M, L and XL.
	CompartmentMix [4]float64 `json:"compartment_mix"`
	ParcelMix      [4]float64 `json:"parcel_mix"`

	// Parcels arrive over ArrivalDays days following Curve.
	Parcels     int        `json:"parcels"`
	ArrivalDays int        `json:"arrival_days"`
	Curve       Curve      `json:"curve"`
	Delay       DelayModel `json:"delay"`
	// EmailShare of recipients give an e-mail address besides their phone;
	// QRShare pick up with the QR code from the tracking page instead of
	// the PIN; TypoShare mistype the PIN once; ReplayShare try their PIN
	// again after the pickup (which must fail).
	EmailShare  float64 `json:"email_share"`
	QRShare     float64 `json:"qr_share"`
	TypoShare   float64 `json:"typo_share"`
	ReplayShare float64 `json:"replay_share"`

	// RoundEvery is how often a courier visits a site that has work.
	RoundEvery time.Duration `json:"round_every"`
	// ReturnAfter is how long a collected parcel takes back to its sender.
	ReturnAfter time.Duration `json:"return_after"`

	// Attackers each guess PINs at one of the largest sites, as fast as
	// the site's guard allows, for AttackFor from AttackStart after Start.
	Attackers   int           `json:"attackers"`
	AttackStart time.Duration `json:"attack_start"`
	AttackFor   time.Duration `json:"attack_for"`
	// AttackPace is how attackers pace their guesses: PaceFastest (each
	// the moment the kiosk allows) or PacePatient (the free budget, then
	// one guess per leak interval, which never raises the alarm and makes
	// the most guesses over a storage period).
	AttackPace string `json:"attack_pace"`

	// Tick is the simulated time step; Drain is how long the simulation
	// runs on after the last arrival and a full storage period.
	Tick  time.Duration `json:"tick"`
	Drain time.Duration `json:"drain"`
	// Workers run one tick's actions concurrently.
	Workers int `json:"workers"`
	// SweepPeriod is how often the continuous invariant sweep reads each
	// site's compartments (round robin, a share of the sites after every
	// tick; every site is swept once more at the end).
	SweepPeriod time.Duration `json:"sweep_period"`
	// AuditSample: every AuditSample-th parcel's audit history is checked
	// against what the simulation saw happen to it.
	AuditSample int `json:"audit_sample"`
}

// Presets lists the preset names.
func Presets() []string { return []string{"small", "peak-day"} }

// Preset returns the named preset at scale 1.
func Preset(name string) (Config, error) {
	base := Config{
		Scale:          1,
		Seed:           1,
		Start:          time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC),
		CompartmentMix: [4]float64{0.40, 0.35, 0.20, 0.05},
		ParcelMix:      [4]float64{0.50, 0.33, 0.14, 0.03},
		ArrivalDays:    1,
		Curve:          DefaultCurve,
		Delay:          DefaultDelay,
		EmailShare:     0.5,
		QRShare:        0.3,
		TypoShare:      0.03,
		ReplayShare:    0.01,
		RoundEvery:     time.Hour,
		ReturnAfter:    6 * time.Hour,
		AttackStart:    8 * time.Hour,
		AttackFor:      parcelguard.DefaultStoragePeriod,
		AttackPace:     PaceFastest,
		Tick:           time.Minute,
		Drain:          12 * time.Hour,
		Workers:        64,
		SweepPeriod:    time.Hour,
		AuditSample:    1000,
	}
	switch name {
	case "small":
		base.Preset = name
		base.Sites, base.CompartmentsPerSite = 4, 40
		base.Parcels = 360
		base.Attackers = 1
		base.Tick = 5 * time.Minute
		base.Workers = 16
		base.SweepPeriod = 20 * time.Minute
		base.AuditSample = 1
		return base, nil
	case "peak-day":
		// InPost's busiest day of 2024: about 14 million parcels through
		// about 35,000 lockers with 4.4 million compartments.
		base.Preset = name
		base.Sites, base.CompartmentsPerSite = 35000, 126
		base.Parcels = 14_000_000
		base.Attackers = 20
		return base, nil
	}
	return Config{}, fmt.Errorf("unknown preset %q (have %s)", name, strings.Join(Presets(), ", "))
}

// Scaled returns c with its network, parcels and attackers scaled by f
// (compartments per site and every rate stay as they are, so each site
// behaves as in the full network).
func (c Config) Scaled(f float64) Config {
	c.Scale *= f
	c.Sites = max(1, int(math.Round(float64(c.Sites)*f)))
	c.Parcels = max(1, int(math.Round(float64(c.Parcels)*f)))
	if c.Attackers > 0 {
		c.Attackers = max(1, int(math.Round(float64(c.Attackers)*f)))
	}
	c.Attackers = min(c.Attackers, c.Sites)
	return c
}

// SweepPerTick is how many sites the invariant sweep reads after a tick.
func (c Config) SweepPerTick() int {
	return max(1, int(math.Ceil(float64(c.Sites)*float64(c.Tick)/float64(c.SweepPeriod))))
}

// Duration is the simulated span: the arrival days, a full storage period
// for the last parcels, a courier round and the drain.
func (c Config) Duration() time.Duration {
	return time.Duration(c.ArrivalDays)*24*time.Hour + parcelguard.DefaultStoragePeriod + c.RoundEvery + c.Drain
}

// Validate reports every unusable setting.
func (c Config) Validate() error {
	var bad []string
	check := func(ok bool, msg string) {
		if !ok {
			bad = append(bad, msg)
		}
	}
	check(c.Sites >= 1, "sites must be at least 1")
	check(c.CompartmentsPerSite >= 1 && c.CompartmentsPerSite <= 10000, "compartments per site must be 1 to 10000")
	check(c.Parcels >= 0, "parcels must not be negative")
	check(c.ArrivalDays >= 1, "arrival days must be at least 1")
	check(c.Curve.Valid(), "the arrival curve needs non-negative weights, one of them positive")
	check(validMix(c.CompartmentMix), "compartment mix needs non-negative shares summing to more than 0")
	check(validMix(c.ParcelMix), "parcel mix needs non-negative shares summing to more than 0")
	check(c.Delay.Median > 0 && c.Delay.Sigma >= 0 && c.Delay.Never >= 0 && c.Delay.Never <= 1, "delay model needs a positive median, sigma >= 0 and never in [0, 1]")
	for name, v := range map[string]float64{"email": c.EmailShare, "qr": c.QRShare, "typo": c.TypoShare, "replay": c.ReplayShare} {
		check(v >= 0 && v <= 1, name+" share must be in [0, 1]")
	}
	check(c.RoundEvery >= c.Tick && c.RoundEvery > 0, "courier rounds must be at least one tick apart")
	check(c.ReturnAfter >= 0, "return time must not be negative")
	check(c.Attackers >= 0 && c.Attackers <= c.Sites, "attackers must be between 0 and the number of sites")
	check(c.AttackPace == PaceFastest || c.AttackPace == PacePatient, "attack pace must be "+PaceFastest+" or "+PacePatient)
	check(c.Tick >= time.Second && c.Tick <= time.Hour, "tick must be between 1 s and 1 h")
	check(c.Workers >= 1 && c.Workers <= 4096, "workers must be 1 to 4096")
	check(c.SweepPeriod >= c.Tick, "the sweep period must be at least one tick")
	check(c.AuditSample >= 1, "audit sample must be at least 1")
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("invalid simulation config: %s", strings.Join(bad, "; "))
	}
	return nil
}

func validMix(m [4]float64) bool {
	s := 0.0
	for _, v := range m {
		if v < 0 || math.IsNaN(v) {
			return false
		}
		s += v
	}
	return s > 0
}
