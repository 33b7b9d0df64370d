package service_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure a failed attempt claimed away from the address (a "not at home"
// 5 km away) is refused like a verification there, audited with the
// courier's position and the reason, and spends no attempt; and that an
// attempt at the door records the courier's position and distance.
func TestDoorstepAttemptPosition(t *testing.T) {
	far := service.Position{Lat: door.Lat + 0.045, Lon: door.Lon} // about 5 km north
	doorstepEngines(t, nil, func(t *testing.T, e *dsEnv) {
		id := e.announce("AP-1001", "Europe/Berlin", "DE").Parcel.ID
		must(e.svc.OutForDelivery(e.ctx, e.courier, id, 0))(t)
		reasons := []parcelguard.AttemptReason{parcelguard.ReasonNotAtHome, parcelguard.ReasonRefused,
			parcelguard.ReasonWrongPassword, parcelguard.ReasonNotAccessible}
		for _, reason := range reasons {
			if _, err := e.svc.FailAttempt(e.ctx, e.courier, id, reason, far); !errors.Is(err, service.ErrCourierAway) {
				t.Fatalf("%s from 5 km: %v", reason, err)
			}
		}
		if got := e.get(id); got.Parcel.State != parcelguard.ParcelOutForDelivery || got.Doorstep.Attempts != 0 {
			t.Fatalf("after refused claims: %s, %d attempts", got.Parcel.State, got.Doorstep.Attempts)
		}
		var refused []*parcelguard.Event
		for _, ev := range e.events(id) {
			if ev.Kind == parcelguard.EventDoorstepPositionFar {
				refused = append(refused, ev)
			}
		}
		if len(refused) != len(reasons) {
			t.Fatalf("%d position events, want %d", len(refused), len(reasons))
		}
		for i, ev := range refused {
			dist, _ := strconv.ParseFloat(ev.Data["distance_m"], 64)
			if ev.Data["action"] != "attempt" || ev.Data["reason"] != string(reasons[i]) || dist < 4900 || dist > 5100 ||
				ev.Data["lat"] != strconv.FormatFloat(far.Lat, 'f', 6, 64) || ev.Actor != e.courier.Actor() {
				t.Fatalf("position event %+v", ev.Data)
			}
		}
		// The password still works: nothing was spent.
		if tr := e.tracking(id); tr.Password == "" {
			t.Fatal("the password was disabled by a refused claim")
		}

		got := must(e.svc.FailAttempt(e.ctx, e.courier, id, parcelguard.ReasonNotAtHome, door))(t)
		if got.Parcel.State != parcelguard.ParcelRescheduled || got.Doorstep.Attempts != 1 {
			t.Fatalf("at the door: %s, %d attempts", got.Parcel.State, got.Doorstep.Attempts)
		}
		for _, ev := range e.events(id) {
			if ev.Kind == parcelguard.EventDoorstepAttemptFailed {
				if ev.Data["lat"] != strconv.FormatFloat(door.Lat, 'f', 6, 64) || ev.Data["distance_m"] != "0" || ev.Data["radius_m"] != "200" {
					t.Fatalf("attempt event %+v", ev.Data)
				}
			}
		}
	})
}
