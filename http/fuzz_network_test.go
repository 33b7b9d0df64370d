package http_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	pghttp "github.com/parcelguard/parcelguard/http"
)

// FuzzNetworkRequests sends arbitrary bodies and queries to the site
// search, site and carrier updates, redirects, problem reports and
// delegate creation. Ensure none panics or answers 5xx, and every refusal
// is a problem.
func FuzzNetworkRequests(f *testing.F) {
	e := newEnv(f, func(c *pghttp.Config) {
		c.KeyLimit = pghttp.RateLimit{Rate: rate.Inf}
		c.AddressLimit = pghttp.RateLimit{Rate: rate.Inf}
	})
	w := newWorld(e)
	x, _ := w.deposit(e, "PG-FUZZ-1")
	y := w.announce(e, "PG-FUZZ-2")
	link := recipientLink(e, x.ID)
	type target struct{ method, path, token string }
	targets := []target{
		{"PATCH", "/v1/sites/" + w.site.ID, w.operator},
		{"PATCH", "/v1/carriers/" + w.carrier.ID, w.operator},
		{"POST", "/v1/parcels/" + y.ID + "/redirect", w.carrierKey},
		{"POST", "/v1/parcels/" + y.ID + "/compartment-problem", w.courier},
		{"POST", "/v1/track/delegates", link},
		{"POST", "/v1/track/redirect", link},
		{"GET", "/v1/sites/search?", ""},
	}
	for _, seed := range []string{
		`{"name":"N","opening_hours":"24/7","lat":52.1,"storage_period_seconds":0}`,
		`{"fallback":"assign","fallback_max_distance_m":50000,"phone_factor":false}`,
		`{"fallback":"teleport","fallback_max_distance_m":-1}`,
		`{"site_id":"` + w.site.ID + `"}`, `{"site_id":""}`, `{"reason":"` + strings.Repeat("x", 600) + `"}`,
		`{"name":"Jan","phone":"+48600100999","email":"jan@example.com"}`, `{"name":"\u0000","phone":"1"}`,
		`lat=52.2&lon=21&radius=50000&size=XL&limit=100`, `lat=NaN&lon=Inf&radius=-1`, `lat=1e400&lon=&size=XXL`,
		`{"lat":null,"time_zone":"Mars/Base"}`, `[]`, `null`, `{`, "\xff", ``, `{"unknown":1}`,
	} {
		for i := range targets {
			f.Add(uint8(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, input string) {
		tg := targets[int(which)%len(targets)]
		var req *http.Request
		if tg.method == "GET" {
			req = httptest.NewRequest("GET", tg.path, nil)
			req.URL.RawQuery = input
		} else {
			req = httptest.NewRequest(tg.method, tg.path, strings.NewReader(input))
			req.Header.Set("Content-Type", "application/json")
		}
		if tg.method == "PATCH" {
			req.Header.Set("If-Match", "*") // reach the domain's validation
		}
		if tg.token != "" {
			req.Header.Set("Authorization", "Bearer "+tg.token)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%s %s status %d for %q: %s", tg.method, tg.path, rec.Code, input, rec.Body)
		case rec.Code < 300:
		case rec.Header().Get("Content-Type") != "application/problem+json":
			t.Fatalf("status %d with Content-Type %q for %q", rec.Code, rec.Header().Get("Content-Type"), input)
		}
	})
}
