package sim_test

import (
	"context"
	"testing"

	"github.com/parcelguard/parcelguard/sim"
)

// Ensure doorstep shipments run through every outcome — delivered to the
// recipient and to a delegate, failed for each reason, nobody trying
// (the end of the day records it), locked out by wrong passwords,
// redirected to a locker after the carrier's last attempt and picked up
// there with the PIN of the deposit notice — with every refusal that must
// happen happening, and no invariant violated.
func TestDoorstepActor(t *testing.T) {
	t.Parallel()
	cfg, err := sim.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Parcels, cfg.Attackers = 60, 0
	dc := sim.DefaultDoorstep(80)
	dc.AbsentShare, dc.Lockout, dc.Skipped, dc.Stale = 0.2, 0.1, 0.1, 0.5
	s, err := sim.Run(context.Background(), cfg, sim.Options{Store: openStore(t), Actors: []sim.Actor{sim.NewDoorstep(dc)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	d := s.Doorstep
	if d == nil {
		t.Fatal("no doorstep section in the summary")
	}
	for name, ok := range map[string]bool{
		"every shipment announced":         d.Announced == int64(dc.Shipments),
		"most delivered":                   d.Delivered > d.Announced/2,
		"some to a delegate":               d.ByDelegate > 0 && d.DelegatesNamed >= d.ByDelegate,
		"failed attempts of every reason":  len(d.ByReason) == 5,
		"lockouts":                         d.Lockouts > 0 && d.AfterLockoutRefused > 0,
		"redirects after the last attempt": d.Redirected > 0 && d.RedirectDeposited == d.Redirected,
		"redirected parcels picked up":     d.RedirectPickedUp > 0,
		"every shipment settled":           d.StillOpen == 0 && d.Delivered+d.Redirected+d.Returned == d.Announced,
		"claims from afar refused":         d.FarClaimsRefused > 0,
		"earlier days' passwords refused":  d.StalePasswordsRefused > 0,
		"passwords read from messages":     d.Messages["doorstep_password/sms"] > 0,
		"shipments checked at the end":     d.ShipmentsCheckedAtEnd == dc.Shipments && d.AuditHistoriesChecked == dc.Shipments,
		"hourly series":                    len(d.Hourly["delivered"]) > 24,
		"locker parcels unaffected":        s.Parcels.PickedUp+s.Parcels.Expired == s.Parcels.Deposited,
	} {
		if !ok {
			t.Errorf("%s: not so in %+v", name, d)
		}
	}
	t.Logf("doorstep: %+v", d)
}

// Ensure a busy end of the delivery day holds: with more timers due at
// midnight than one scheduler batch, the parcels nobody tried are
// rescheduled and sent out again for the new day in the same pass, and
// the simulation follows.
func TestDoorstepBusyMidnight(t *testing.T) {
	t.Parallel()
	cfg, err := sim.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sites, cfg.Parcels, cfg.Attackers = 2, 20, 0
	dc := sim.DefaultDoorstep(300)
	dc.AbsentShare, dc.FarClaim, dc.Replay = 1, 0, 0 // nobody is ever home: 300 timers due at the first midnight
	s, err := sim.Run(context.Background(), cfg, sim.Options{Store: openStore(t), Actors: []sim.Actor{sim.NewDoorstep(dc)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	d := s.Doorstep
	if d.Delivered != 0 || d.Redirected+d.Returned != d.Announced || d.ByReason["not_delivered"] == 0 || d.StillOpen != 0 {
		t.Errorf("doorstep %+v", d)
	}
	t.Logf("%d redirected, %d returned, failed by reason %v", d.Redirected, d.Returned, d.ByReason)
}
