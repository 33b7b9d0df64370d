package http_test

import (
	"testing"
	"time"
)

func TestPickupThrottled(t *testing.T) {
	// Ensure repeated wrong PINs at one kiosk end in 429 with a Retry-After
	// the kiosk can honour, and that waiting it out lets the right PIN in.
	e := newEnv(t)
	w := newWorld(e)
	x, pin := w.deposit(e, "PG-4001")
	wrong := "000000"
	if pin == wrong {
		wrong = "111111"
	}

	var throttled response
	for i := 0; i < 10; i++ {
		r := e.do("POST", "/v1/sites/"+w.site.ID+"/pickup", w.kiosk, map[string]string{"pin": wrong, "phone_digits": "0200"})
		if r.status == 429 {
			throttled = r
			break
		}
		mustProblem(t, r, 403, "rejected")
	}
	if throttled.status == 0 {
		t.Fatal("no 429 after 10 wrong PINs")
	}
	mustProblem(t, throttled, 429, "throttled")
	if got := throttled.header.Get("Retry-After"); got != "30" {
		t.Fatalf("Retry-After %q, want 30", got)
	}

	// While blocked, even the right PIN waits.
	r := e.do("POST", "/v1/sites/"+w.site.ID+"/pickup", w.kiosk, map[string]string{"pin": pin, "phone_digits": "0200"})
	mustProblem(t, r, 429, "throttled")

	e.clock.Advance(31 * time.Second)
	e.must(200, "POST", "/v1/sites/"+w.site.ID+"/pickup", w.kiosk, map[string]string{"pin": pin, "phone_digits": "0200"})
	e.must(200, "GET", "/v1/parcels/"+x.ID, w.carrierKey, nil)
}
