package http_test

import (
	"encoding/json"
	"net/http"
	"strings"
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

// Ensure that behind a trusted proxy each forwarded client has its own
// address bucket and is named in the access log, that what a client writes
// left of the proxy's entry changes nothing, and that an untrusted peer's
// X-Forwarded-For is ignored: spoofing it does not escape the limit.
func TestRateLimitBehindProxy(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		newProxied := func(trusted string) *env {
			proxies, err := pghttp.ParseTrustedProxies(trusted)
			if err != nil {
				t.Fatal(err)
			}
			clock := parcelguard.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			return newEnvOn(t, engine, func(c *pghttp.Config) {
				c.AddressLimit = pghttp.RateLimit{Rate: 1, Burst: 2}
				c.TrustedProxies = proxies
				c.Clock = clock
			})
		}
		get := func(e *env, xff string) int {
			t.Helper()
			req, err := http.NewRequest("GET", e.srv.URL+"/v1/sites/search?lat=52&lon=21", nil)
			if err != nil {
				t.Fatal(err)
			}
			if xff != "" {
				req.Header.Set("X-Forwarded-For", xff)
			}
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}

		// The test server's connections come from 127.0.0.1: our proxy.
		e := newProxied("127.0.0.1/32, ::1")
		for i, xff := range []string{"198.51.100.7", "6.6.6.6, 198.51.100.7"} {
			if got := get(e, xff); got != 200 {
				t.Fatalf("request %d of 198.51.100.7: status %d", i, got)
			}
		}
		if got := get(e, "7.7.7.7, 198.51.100.7"); got != 429 {
			t.Fatalf("third request of 198.51.100.7 with a new spoofed prefix: status %d, want 429", got)
		}
		if got := get(e, "198.51.100.8"); got != 200 {
			t.Fatalf("another forwarded client: status %d, want 200", got)
		}
		var logged map[string]any
		for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
			var l map[string]any
			if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == "request" && l["route"] == "GET /v1/sites/search" {
				logged = l
			}
		}
		if logged == nil || logged["client"] != "198.51.100.8" {
			t.Fatalf("access log %v, want client 198.51.100.8", logged)
		}

		// Trusting another network, the header of this peer counts for
		// nothing: every spoofed address shares the peer's bucket.
		e = newProxied("10.0.0.0/8")
		for i, xff := range []string{"198.51.100.1", "198.51.100.2"} {
			if got := get(e, xff); got != 200 {
				t.Fatalf("request %d: status %d", i, got)
			}
		}
		if got := get(e, "198.51.100.3"); got != 429 {
			t.Fatalf("spoofed X-Forwarded-For from an untrusted peer escaped the limit: status %d", got)
		}
		if !strings.Contains(e.logs.String(), `"client":"127.0.0.1"`) {
			t.Fatalf("access log does not name the peer: %s", e.logs.String())
		}
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
