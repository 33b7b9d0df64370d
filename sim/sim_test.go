package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/sim"
	"github.com/parcelguard/parcelguard/sqlite"
)

// openStore opens a fresh SQLite store in a temporary directory.
func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sim.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Ensure the small preset runs the whole locker life cycle through the
// service with no invariant violation, attackers within the bar, and a
// report that renders.
func TestSmallPreset(t *testing.T) {
	t.Parallel()
	cfg, err := sim.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.Run(context.Background(), cfg, sim.Options{Store: openStore(t), Engine: "sqlite", Actors: sim.PresetActors(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	p := s.Parcels
	for name, ok := range map[string]bool{
		"every parcel arrived":                p.Arrived == int64(cfg.Parcels),
		"every parcel deposited":              p.Deposited == p.Arrived && p.NeverDeposited == 0,
		"most picked up":                      p.PickedUp > p.Arrived*9/10,
		"some expired and were collected":     p.Expired > 0 && p.Collected == p.Expired,
		"returns reached the sender":          p.Returned > 0,
		"every parcel accounted for":          p.PickedUp+p.Expired == p.Deposited,
		"reminders went out":                  p.Reminded > 0,
		"notifications went out":              s.Notifications >= 3*p.Deposited,
		"audit chains intact":                 s.Audit.OK && s.Audit.Events > 0,
		"invariants were checked":             s.Invariants.Checks > 1000,
		"the guard alarmed at the attack":     s.Attack.Alarms >= 1 && s.Attack.FirstAlarmSeconds >= 0,
		"alarms counted":                      s.Alarms.Guessing >= s.Attack.Alarms,
		"no notification given up":            s.Alarms.NotificationsDead == 0,
		"latencies measured":                  s.Latency["deposit"].Count == uint64(p.Deposited),
		"peak memory read":                    s.Wall.PeakRSSBytes > 0,
		"wall time and throughput measured":   s.Wall.RunSeconds > 0 && s.Wall.ParcelsPerSecond > 0,
		"hourly series cover the whole run":   len(s.Hourly.Occupancy) >= 24*4 && s.Occupancy.Peak > 0,
		"the attacker guessed all along":      s.Attack.GuessesPerAttacker >= 0.8*float64(s.Attack.Bound.FastestGuesses),
		"the attacker stayed within the pace": s.Attack.GuessesPerAttacker <= float64(s.Attack.Bound.FastestGuesses),
		"doorstep shipments delivered":        s.Doorstep != nil && s.Doorstep.Delivered > 0 && s.Doorstep.StillOpen == 0,
		"delegates took parcels":              s.LockerDelegates != nil && s.LockerDelegates.PickedUpByDelegate > 0,
		"later delegate codes refused":        s.LockerDelegates != nil && s.LockerDelegates.LaterCodesRefused == s.LockerDelegates.Parcels,
	} {
		if !ok {
			t.Errorf("%s: not so in %+v", name, p)
		}
	}
	a := s.Attack
	if a.Opened != 0 || !a.MeetsBar || !a.Bound.MeetsBar || a.SimulatedPNothingOpens < sim.Bar {
		t.Errorf("attack outside the bar: %+v", a)
	}
	var js, html bytes.Buffer
	if err := sim.WriteJSON(&js, s); err != nil {
		t.Fatal(err)
	}
	var back sim.Summary
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Parcels != s.Parcels {
		t.Fatalf("summary does not round-trip: %v", err)
	}
	if err := sim.WriteHTML(&html, s); err != nil {
		t.Fatal(err)
	}
	page := html.String()
	for _, want := range []string{"<svg", "no invariant violated", "P(nothing opens)", "Compartments in use",
		"Doorstep deliveries per simulated hour", "Failed doorstep attempts by reason", "Locker delegates"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "src=", "href=\"http", "@import"} {
		if strings.Contains(page, bad) {
			t.Errorf("report is not self-contained: has %q", bad)
		}
	}
	t.Logf("%d parcels, %d checks, run %.1f s, %.0f parcels/s, peak RSS %d MiB; attack %d guesses, P(nothing) %.9f vs bound %.9f",
		p.Arrived, s.Invariants.Checks, s.Wall.RunSeconds, s.Wall.ParcelsPerSecond, s.Wall.PeakRSSBytes>>20,
		a.Guesses, a.SimulatedPNothingOpens, a.Bound.PNothingOpens)
}

// Ensure the patient attacker, who guesses once per leak interval after
// the free budget, makes about the most guesses the level admits without
// an alarm, never more than the bound, opens nothing, and is alarmed once
// by the slow level. Recipients make
// no mistakes here: others' failures would raise the level under the
// attacker, who cannot see it.
func TestPatientAttacker(t *testing.T) {
	cfg, err := sim.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Parcels, cfg.AttackPace, cfg.TypoShare, cfg.ReplayShare = 60, sim.PacePatient, 0, 0
	s, err := sim.Run(context.Background(), cfg, sim.Options{Store: openStore(t), Engine: "sqlite"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	a := s.Attack
	if a.GuessesPerAttacker < 0.9*float64(a.Bound.UnalarmedGuesses) || a.GuessesPerAttacker > float64(a.Bound.MaxGuesses) {
		t.Errorf("%.1f guesses per attacker, want about %d and at most %d", a.GuessesPerAttacker, a.Bound.UnalarmedGuesses, a.Bound.MaxGuesses)
	}
	if a.Alarms != 1 || a.Opened != 0 || !a.MeetsBar {
		t.Errorf("patient attack: %+v", a)
	}
	t.Logf("patient attacker: %d guesses (bound %d), %d turned away, %d alarms", a.Guesses, a.Bound.MaxGuesses, a.Blocked, a.Alarms)
}

// Ensure the checker can fail: a compartment emptied behind the service's
// back (no parcel taken out, no event) makes the run report violations.
func TestInjectedViolationFails(t *testing.T) {
	t.Parallel()
	cfg, err := sim.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Parcels, cfg.Attackers, cfg.AuditSample = 60, 0, 1
	injected := false
	corrupt := func(ctx context.Context, w *sim.World) error {
		if injected {
			return nil
		}
		return w.Store().Update(ctx, func(tx parcelguard.Tx) error {
			for _, id := range w.SiteIDs() {
				cs, err := tx.Compartments(ctx, id)
				if err != nil {
					return err
				}
				for _, c := range cs {
					if c.State == parcelguard.CompartmentOccupied {
						c.State, c.ParcelID = parcelguard.CompartmentFree, ""
						injected = true
						return tx.SaveCompartment(ctx, c)
					}
				}
			}
			return nil
		})
	}
	s, err := sim.Run(context.Background(), cfg, sim.Options{Store: openStore(t), AfterTick: corrupt})
	if err != nil {
		t.Fatal(err)
	}
	if !injected {
		t.Fatal("no occupied compartment to corrupt")
	}
	if s.Invariants.Violations == 0 || s.Err() == nil {
		t.Fatalf("corrupted store went unnoticed: %+v", s.Invariants)
	}
	if s.Invariants.ByKind["occupancy"] == 0 {
		t.Errorf("expected an occupancy violation, got %v", s.Invariants.ByKind)
	}
	t.Logf("caught: %v", s.Err())
}

// Ensure bad configs are refused with every problem named.
func TestConfigValidate(t *testing.T) {
	if _, err := sim.Preset("huge"); err == nil {
		t.Error("unknown preset accepted")
	}
	for _, name := range sim.Presets() {
		cfg, err := sim.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
		if err := cfg.Scaled(0.001).Validate(); err != nil {
			t.Errorf("preset %s at 0.1 %%: %v", name, err)
		}
	}
	cfg, _ := sim.Preset("small")
	cfg.Sites, cfg.Tick, cfg.QRShare = 0, 0, 2
	err := cfg.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"sites", "tick", "qr share"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if _, err := sim.Run(context.Background(), cfg, sim.Options{Store: openStore(t)}); err == nil {
		t.Error("Run accepted a bad config")
	}
	good, _ := sim.Preset("small")
	if _, err := sim.Run(context.Background(), good, sim.Options{}); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("Run without a store: %v", err)
	}
	peak, _ := sim.Preset("peak-day")
	if sc := peak.Scaled(0.01); sc.Sites != 350 || sc.Parcels != 140_000 || sc.Attackers != 1 {
		t.Errorf("peak-day at 1 %%: %d sites, %d parcels, %d attackers", sc.Sites, sc.Parcels, sc.Attackers)
	}
}
