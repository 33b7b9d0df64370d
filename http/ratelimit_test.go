package http_test

import (
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/parcelguard/parcelguard"
	pghttp "github.com/parcelguard/parcelguard/http"
)

func TestRateLimit(t *testing.T) {
	// Ensure an API key that spends its bucket gets 429 with a Retry-After
	// it can honour, that another key is unaffected, and that waiting
	// refills the bucket.
	t.Run("PerKey", func(t *testing.T) {
		clock := parcelguard.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
		e := newEnv(t, func(c *pghttp.Config) {
			c.KeyLimit = pghttp.RateLimit{Rate: 0.5, Burst: 2}
			c.AddressLimit = pghttp.RateLimit{Rate: rate.Inf}
			c.Clock = clock
		})
		w := newWorldSlowly(e, clock)
		for range 2 {
			e.must(200, "GET", "/v1/sites/"+w.site.ID, w.courier, nil)
		}
		r := e.do("GET", "/v1/sites/"+w.site.ID, w.courier, nil)
		mustProblem(t, r, 429, "rate_limited")
		if got := r.header.Get("Retry-After"); got != "2" {
			t.Fatalf("Retry-After %q, want 2", got)
		}
		e.must(200, "GET", "/v1/sites/"+w.site.ID, w.kiosk, nil)
		clock.Advance(2 * time.Second)
		e.must(200, "GET", "/v1/sites/"+w.site.ID, w.courier, nil)
	})

	// Ensure one client address is limited before authentication, even with
	// bad keys, and that probes are not limited.
	t.Run("PerAddress", func(t *testing.T) {
		clock := parcelguard.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
		e := newEnv(t, func(c *pghttp.Config) {
			c.AddressLimit = pghttp.RateLimit{Rate: 1, Burst: 3}
			c.Clock = clock
		})
		for range 3 {
			mustProblem(t, e.do("GET", "/v1/parcels", "pgk_nope", nil), 401, "unauthorized")
		}
		r := e.do("GET", "/v1/parcels", e.admin, nil)
		mustProblem(t, r, 429, "rate_limited")
		if got := r.header.Get("Retry-After"); got != "1" {
			t.Fatalf("Retry-After %q, want 1", got)
		}
		e.must(200, "GET", "/healthz", "", nil)
		clock.Advance(time.Second)
		e.must(200, "GET", "/v1/parcels", e.admin, nil)
	})
}

// newWorldSlowly builds a world while moving the clock, so that building
// it does not spend the rate limits the test is about.
func newWorldSlowly(e *env, clock *parcelguard.ManualClock) *world {
	e.t.Helper()
	step := func() { clock.Advance(time.Hour) }
	w := &world{}
	mk := func(body map[string]any) string {
		step()
		return createKey(e, body)
	}
	w.operator = mk(map[string]any{"role": "operator"})
	step()
	e.must(201, "POST", "/v1/sites", w.operator, map[string]any{"name": "S", "address": "A", "lat": 1, "lon": 1}).decode(e.t, &w.site)
	step()
	e.must(201, "POST", "/v1/carriers", w.operator, map[string]any{"name": "C"}).decode(e.t, &w.carrier)
	w.courier = mk(map[string]any{"role": "courier", "carrier_id": w.carrier.ID})
	w.kiosk = mk(map[string]any{"role": "kiosk", "site_id": w.site.ID})
	step()
	return w
}
