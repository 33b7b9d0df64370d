package service_test

import (
	"errors"
	"testing"

	"github.com/parcelguard/parcelguard"
)

// lockOut gives five wrong passwords for the parcel at the door.
func (e *dsEnv) lockOut(id string) {
	e.t.Helper()
	wrong := other(e.tracking(id).Password)
	for i := 1; i <= parcelguard.MaxDoorstepPasswordFailures; i++ {
		_, err := e.svc.VerifyDoorstep(e.ctx, e.courier, id, wrong, door)
		want := parcelguard.ErrCodeRejected
		if i == parcelguard.MaxDoorstepPasswordFailures {
			want = parcelguard.ErrCodeLocked
		}
		if !errors.Is(err, want) {
			e.t.Fatalf("wrong password %d: %v, want %v", i, err, want)
		}
	}
}

// Ensure the lockout after five wrong passwords sends the recipient its
// own password-disabled message (e-mail and SMS) naming the day and the
// next attempt, instead of the ordinary attempt-failed notice; and that
// a lockout on the last attempt says so without a next date, beside the
// notice of where the parcel goes.
func TestDoorstepLockoutMessage(t *testing.T) {
	doorstepEngines(t, nil, func(t *testing.T, e *dsEnv) {
		id := e.announce("LM-1001", "Europe/Berlin", "DE").Parcel.ID
		must(e.svc.OutForDelivery(e.ctx, e.courier, id, 0))(t)
		e.lockOut(id)
		msgs := e.messages(id, parcelguard.MessageDoorstepPasswordDisabled)
		channels := map[parcelguard.Channel]bool{}
		for _, m := range msgs {
			channels[m.Channel] = true
			if m.Data["date"] != "Monday, 23 November 2026" || m.Data["new_date"] != "Tuesday, 24 November 2026" {
				t.Fatalf("message data %v", m.Data)
			}
		}
		if len(msgs) != 2 || !channels[parcelguard.ChannelEmail] || !channels[parcelguard.ChannelSMS] {
			t.Fatalf("%d password-disabled messages on %v", len(msgs), channels)
		}
		if n := len(e.messages(id, parcelguard.MessageAttemptFailed)); n != 0 {
			t.Fatalf("%d attempt-failed messages beside the lockout's own", n)
		}

		// Last attempt: the parcel is returned; the message has no new date.
		e.setPolicy(1, parcelguard.FallbackReturn)
		last := e.announce("LM-1002", "Europe/Berlin", "DE").Parcel.ID
		must(e.svc.OutForDelivery(e.ctx, e.courier, last, 0))(t)
		e.lockOut(last)
		if s := e.get(last).Parcel.State; s != parcelguard.ParcelReturned {
			t.Fatalf("state %s", s)
		}
		msgs = e.messages(last, parcelguard.MessageDoorstepPasswordDisabled)
		if len(msgs) != 2 || msgs[0].Data["new_date"] != "" || msgs[0].Data["date"] == "" {
			t.Fatalf("last-attempt lockout messages %d, %v", len(msgs), msgs)
		}
		if n := len(e.messages(last, parcelguard.MessageDoorstepReturned)); n != 2 {
			t.Fatalf("%d return notices", n)
		}
	})
}
