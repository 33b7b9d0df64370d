package notify_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure the lockout after five wrong delivery passwords reaches the
// recipient as its own "password disabled" e-mail and SMS in their
// language, naming the day and the next attempt, and carrying no code.
func TestDoorstepPasswordDisabledMessage(t *testing.T) {
	f := newFixture(t, 0)
	door := service.Position{Lat: 48.141, Lon: 11.561}
	x := must(f.svc.AnnounceDoorstep(f.ctx, f.carrierP, service.DoorstepAnnouncement{
		Parcel:  parcelguard.Parcel{TrackingNumber: "PD-1001", Size: parcelguard.SizeS, Recipient: ada},
		Address: "Arnulfstr. 1", Lat: door.Lat, Lon: door.Lon, TimeZone: "Europe/Berlin", Country: "DE", PasswordFlag: true}))(t)
	must(f.svc.OutForDelivery(f.ctx, f.courier, x.Parcel.ID, 0))(t)
	rec := &recorder{}
	d := f.dispatcher(notify.Config{}, map[parcelguard.Channel]notify.Sender{parcelguard.ChannelEmail: rec, parcelguard.ChannelSMS: rec})
	f.dispatch(d)
	var password string
	for _, m := range rec.sent {
		if m.Kind == parcelguard.MessageDoorstepPassword && m.Channel == parcelguard.ChannelSMS {
			password = strings.Split(m.Text, "\n")[1]
		}
	}
	if len(password) != 6 {
		t.Fatalf("no password in the SMS (%q)", password)
	}
	wrong := "000000"
	if password == wrong {
		wrong = "000001"
	}
	for range parcelguard.MaxDoorstepPasswordFailures {
		_, err := f.svc.VerifyDoorstep(f.ctx, f.courier, x.Parcel.ID, wrong, door)
		if !errors.Is(err, parcelguard.ErrCodeRejected) && !errors.Is(err, parcelguard.ErrCodeLocked) {
			t.Fatal(err)
		}
	}
	rec.sent = nil
	f.dispatch(d)
	got := map[parcelguard.Channel]*notify.Rendered{}
	for _, m := range rec.sent {
		if m.Kind != parcelguard.MessageDoorstepPasswordDisabled {
			t.Fatalf("unexpected %s message", m.Kind)
		}
		got[m.Channel] = m
	}
	mail, sms := got[parcelguard.ChannelEmail], got[parcelguard.ChannelSMS]
	if mail == nil || sms == nil {
		t.Fatalf("sent %d messages, want the e-mail and the SMS", len(rec.sent))
	}
	if !strings.Contains(mail.Subject, "gesperrt") || !strings.Contains(mail.Text, "am Montag, 23. November 2026") ||
		!strings.Contains(mail.Text, "Dienstag, 24. November 2026") || !strings.Contains(mail.HTML, "gesperrt") {
		t.Fatalf("e-mail:\n%s\n%s", mail.Subject, mail.Text)
	}
	if !strings.Contains(sms.Text, "gesperrt") || !strings.Contains(sms.Text, "Dienstag, 24. November 2026") {
		t.Fatalf("SMS: %s", sms.Text)
	}
	if strings.Contains(mail.Text, password) || strings.Contains(sms.Text, password) {
		t.Fatal("the disabled password is in the message")
	}
}
