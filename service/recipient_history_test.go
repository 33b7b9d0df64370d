package service_test

import (
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure a doorstep parcel's timeline holds its doorstep events (kept in
// the carrier's stream) in order, with the reason of a failed attempt and
// the new date of a rescheduled one, and none of the internal ones: wrong
// passwords and far-away positions stay with the carrier and operators.
func TestTrackDoorstepHistory(t *testing.T) {
	f := newFixture(t, "S")
	d := f.doorstep("PX-T1", true)
	must(f.svc.OutForDelivery(f.ctx, f.courier, d.Parcel.ID, 1))(t)
	pw := f.password(d.Parcel.ID)
	if _, err := f.svc.VerifyDoorstep(f.ctx, f.courier, d.Parcel.ID, other(pw), service.Position{Lat: door.Lat, Lon: door.Lon}); err == nil {
		t.Fatal("a wrong password verified")
	}
	if _, err := f.svc.FailAttempt(f.ctx, f.courier, d.Parcel.ID, parcelguard.ReasonNotAtHome, service.Position{Lat: 48.5, Lon: 11.9}); err == nil {
		t.Fatal("a failed attempt far from the door was accepted")
	}
	must(f.svc.FailAttempt(f.ctx, f.courier, d.Parcel.ID, parcelguard.ReasonNotAtHome, service.Position{Lat: door.Lat, Lon: door.Lon}))(t)

	tr := must(f.svc.Track(f.ctx, f.recipient(d.Parcel.ID)))(t)
	var kinds []parcelguard.EventKind
	for _, e := range tr.Timeline {
		kinds = append(kinds, e.Kind)
		switch e.Kind {
		case parcelguard.EventDoorstepAttemptFailed:
			if e.Reason != parcelguard.ReasonNotAtHome {
				t.Errorf("failed attempt without its reason: %+v", e)
			}
		case parcelguard.EventDoorstepRescheduled:
			if len(e.Date) != len("2006-01-02") {
				t.Errorf("rescheduled without the new date: %+v", e)
			}
		default:
			if e.Reason != "" || e.Date != "" {
				t.Errorf("%s carries details: %+v", e.Kind, e)
			}
		}
	}
	want := []parcelguard.EventKind{parcelguard.EventParcelAnnounced, parcelguard.EventDoorstepOutForDelivery,
		parcelguard.EventDoorstepAttemptFailed, parcelguard.EventDoorstepRescheduled}
	if len(kinds) != len(want) {
		t.Fatalf("timeline %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("timeline %v, want %v", kinds, want)
		}
	}
	// The internal events exist; the timeline just does not show them.
	all := f.eventKinds(d.Parcel.ID)
	if countKind(all, parcelguard.EventDoorstepVerifyFailed) != 1 || countKind(all, parcelguard.EventDoorstepPositionFar) != 1 {
		t.Fatalf("internal events missing from the audit log: %v", all)
	}
}
