package http_test

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestHealth(t *testing.T) {
	// Ensure liveness holds while readiness follows the store.
	e := newEnv(t)
	e.must(200, "GET", "/healthz", "", nil)
	e.must(200, "GET", "/readyz", "", nil)

	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/readyz", "", nil)
	mustProblem(t, r, 503, "unavailable")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	e.must(200, "GET", "/healthz", "", nil)
}

func TestMetrics(t *testing.T) {
	// Ensure requests are counted by route pattern, never by raw path.
	e := newEnv(t)
	w := newWorld(e)
	_, pin := w.deposit(e, "PG-5001")
	e.must(200, "POST", "/v1/sites/"+w.site.ID+"/pickup", w.kiosk, map[string]string{"pin": pin, "phone_digits": "0200"})
	e.do("GET", "/v1/parcels/par_nosuchparcel", w.carrierKey, nil)
	e.do("GET", "/no/such/"+w.site.ID, "", nil)
	e.do("BREW", "/v1/sites", "", nil)

	body := string(e.must(200, "GET", "/metrics", "", nil).body)
	for _, want := range []string{
		`parcelguard_http_requests_total{method="POST",route="POST /v1/sites/{id}/pickup",status="200"} 1`,
		`parcelguard_http_requests_total{method="GET",route="GET /v1/parcels/{id}",status="404"} 1`,
		`parcelguard_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`parcelguard_http_requests_total{method="OTHER",route="unmatched",status="405"} 1`,
		`parcelguard_http_request_seconds_bucket{route="POST /v1/sites/{id}/pickup"`,
		`parcelguard_pickup_attempts_total{outcome="ok"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, raw := range []string{w.site.ID, "par_nosuchparcel", "/no/such"} {
		if strings.Contains(body, raw) {
			t.Errorf("metrics contain raw path part %q", raw)
		}
	}
}

func TestOpenAPI(t *testing.T) {
	// Ensure the document describes the API and that request schemas reject
	// unknown fields.
	e := newEnv(t)
	var doc struct {
		OpenAPI string `json:"openapi"`
		Info    struct{ Title, Version string }
		Paths   map[string]map[string]struct {
			Security   []map[string][]string `json:"security"`
			Parameters []struct {
				Name, In string
			} `json:"parameters"`
			Responses map[string]any `json:"responses"`
		}
		Components struct {
			Schemas map[string]struct {
				AdditionalProperties *bool `json:"additionalProperties"`
				Properties           map[string]struct {
					Default any `json:"default"`
				}
			}
			SecuritySchemes map[string]any `json:"securitySchemes"`
		}
	}
	r := e.must(200, "GET", "/openapi.json", "", nil)
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Info.Title != "parcelguard API" || doc.Info.Version != "test" {
		t.Fatalf("document header %q %+v", doc.OpenAPI, doc.Info)
	}
	for path, method := range map[string]string{
		"/v1/sites": "post", "/v1/sites/{id}": "get", "/v1/sites/{id}/compartments": "get",
		"/v1/compartments/{id}": "patch", "/v1/carriers": "post", "/v1/api-keys": "post",
		"/v1/parcels": "get", "/v1/parcels/{id}/events": "get", "/v1/parcels/{id}/deposit": "post",
		"/v1/sites/{id}/returns": "get", "/v1/sites/{id}/pickup": "post", "/v1/sites/{id}/pickup/qr": "post",
		"/v1/track": "get", "/v1/track/code": "get", "/v1/track/extend": "post",
	} {
		op, ok := doc.Paths[path][method]
		if !ok {
			t.Errorf("document lacks %s %s", method, path)
			continue
		}
		if len(op.Security) == 0 {
			t.Errorf("%s %s is not marked as needing a key", method, path)
		}
	}
	// Ensure every secured operation documents 429, and every POST the
	// Idempotency-Key header.
	for path, methods := range doc.Paths {
		for method, op := range methods {
			if len(op.Security) == 0 {
				continue
			}
			if _, ok := op.Responses["429"]; !ok {
				t.Errorf("%s %s does not document 429", method, path)
			}
			if method != "post" {
				continue
			}
			found := false
			for _, p := range op.Parameters {
				found = found || p.In == "header" && p.Name == "Idempotency-Key"
			}
			if !found {
				t.Errorf("%s %s does not document Idempotency-Key", method, path)
			}
		}
	}
	if doc.Components.SecuritySchemes["recipientLink"] == nil {
		t.Error("no recipientLink security scheme")
	}
	if _, ok := doc.Paths["/healthz"]["get"]; !ok {
		t.Error("document lacks /healthz")
	}
	if doc.Components.SecuritySchemes["bearer"] == nil {
		t.Error("no bearer security scheme")
	}
	for _, name := range []string{"NewParcel", "NewRecipient", "NewSite", "NewCarrier", "NewAPIKey", "PickupRequest", "QRPickupRequest", "CompartmentUpdate"} {
		s, ok := doc.Components.Schemas[name]
		if !ok || s.AdditionalProperties == nil || *s.AdditionalProperties {
			t.Errorf("schema %s allows unknown fields", name)
		}
	}
	if d := doc.Components.Schemas["NewCarrier"].Properties["phone_factor"].Default; d != true {
		t.Errorf("phone_factor default %v, want true", d)
	}
}

func TestDocs(t *testing.T) {
	// Ensure the docs page lists the operations and loads nothing from
	// elsewhere.
	e := newEnv(t)
	r := e.must(200, "GET", "/docs", "", nil)
	body := string(r.body)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
	}
	if !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("CSP %q", r.header.Get("Content-Security-Policy"))
	}
	for _, want := range []string{"/v1/sites/{id}/pickup", "Pick up a parcel", "/openapi.json"} {
		if !strings.Contains(body, want) {
			t.Errorf("docs lack %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://", "<link"} {
		if strings.Contains(body, bad) {
			t.Errorf("docs contain %q", bad)
		}
	}
}
