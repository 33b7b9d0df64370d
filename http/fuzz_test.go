package http_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	pghttp "github.com/parcelguard/parcelguard/http"
)

// FuzzAnnounce sends arbitrary bodies to POST /v1/parcels. Ensure no body
// makes the server panic or answer 5xx, and every refusal is a problem.
func FuzzAnnounce(f *testing.F) {
	// Fuzzing sends thousands of requests a second: no rate limits.
	e := newEnv(f, func(c *pghttp.Config) {
		c.KeyLimit = pghttp.RateLimit{Rate: rate.Inf}
		c.AddressLimit = pghttp.RateLimit{Rate: rate.Inf}
	})
	w := newWorld(e)
	for _, seed := range []string{
		`{"tracking_number":"PG-9001","recipient":{"name":"A","phone":"+48600100200"},"size":"S","site_id":"` + w.site.ID + `"}`,
		`{"tracking_number":"PG-9002","recipient":{"name":"A","phone":"+48600100200","email":"a@b.cd","language":"de-AT"},"size":"XL","mode":"doorstep","declared_value":12345,"currency":"EUR"}`,
		`{"tracking_number":"PG-9003","recipient":{"name":"A","phone":"+48600100200"},"size":"S","site_id":"` + w.site.ID + `","carrier_id":"` + w.carrier.ID + `"}`,
		`{"tracking_number":null,"recipient":[],"size":1}`,
		`{"recipient":{"name":"\u0000","phone":"+1"},"declared_value":-1e309}`,
		`{"a":{"b":{"c":{"d":[[[[[[]]]]]]}}}}`,
		`[]`, `null`, `""`, `{`, `{}`, "\xff\xfe", ``,
		`{"tracking_number":"PG-9004","recipient":{"name":"A","phone":"+48600100200"},"size":"S","site_id":"site_nope"}`,
		`{"tracking_number":"PG-9005","recipient":{"name":"` + strings.Repeat("é", 300) + `","phone":"+48600100200"},"size":"S"}`,
		`{"declared_value":9223372036854775808}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/v1/parcels", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+w.carrierKey)
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		case rec.Code == http.StatusCreated:
		case rec.Header().Get("Content-Type") != "application/problem+json":
			t.Fatalf("status %d with Content-Type %q for %q", rec.Code, rec.Header().Get("Content-Type"), body)
		}
	})
}
