package web

import (
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure a doorstep recipient's history shows the delivery attempt, why
// it failed and the new date, in their language, and nothing of the wrong
// passwords the courier typed.
func TestRecipientDoorstepHistory(t *testing.T) {
	x := newHarness(t)
	d := x.doorstep("PX-HH1")
	must(x.svc.OutForDelivery(x.ctx, x.courier, d.Parcel.ID, 1))(t)
	pos := service.Position{Lat: 48.1425, Lon: 11.5530}
	if _, err := x.svc.VerifyDoorstep(x.ctx, x.courier, d.Parcel.ID, "000000", pos); err == nil {
		t.Skip("the guessed password happened to be right")
	}
	must(x.svc.FailAttempt(x.ctx, x.courier, d.Parcel.ID, parcelguard.ReasonNotAtHome, pos))(t)
	b := x.browser()
	b.openLink(d.Parcel.ID)
	page := b.get("/parcel").body
	i := strings.Index(page, `id="timeline-h"`)
	if i < 0 {
		t.Fatalf("no history:\n%s", page)
	}
	history := page[i:]
	for _, want := range []string{"Out for delivery", "Delivery attempt failed: nobody was at home", "New delivery date <time datetime=\"20"} {
		if !strings.Contains(history, want) {
			t.Errorf("history lacks %q:\n%s", want, history)
		}
	}
	if strings.Contains(history, "verify_failed") || strings.Contains(history, "password_locked") {
		t.Errorf("history shows internal events:\n%s", history)
	}
	b.lang = "de"
	if de := b.get("/parcel").body; !strings.Contains(de, "Zustellversuch gescheitert") {
		t.Error("history not translated")
	}
}
