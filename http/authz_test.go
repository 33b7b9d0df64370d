package http_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	pghttp "github.com/parcelguard/parcelguard/http"
)

// authzRow is one route of the authorization matrix: the roles that may
// call it and a body valid enough that a refusal can only be about who
// calls. Anonymous callers and the wrong kind of credential (an API key on
// a recipient route, a recipient link on an API-key route) always get 401;
// authenticated callers outside allowed get 403 forbidden.
type authzRow struct {
	allowed string // space-separated roles; "public" for everyone
	body    any
	// hidden: a key of another carrier, when the carrier role is allowed,
	// gets 404 for this carrier's parcel, exactly like a missing one.
	hidden bool
}

// authzRoles are every kind of caller.
var authzRoles = []string{"admin", "operator", "carrier", "courier", "kiosk", "recipient", "anonymous"}

func authzMatrix() map[string]authzRow {
	pickup := map[string]any{"pin": "123456", "phone_digits": "0200"}
	return map[string]authzRow{
		"GET /healthz":                              {allowed: "public"},
		"GET /readyz":                               {allowed: "public"},
		"GET /v1/sites/search":                      {allowed: "public"},
		"POST /v1/sites":                            {allowed: "admin operator", body: map[string]any{"name": "S", "address": "A", "lat": 1, "lon": 1}},
		"GET /v1/sites/{id}":                        {allowed: "admin operator carrier courier kiosk"},
		"PATCH /v1/sites/{id}":                      {allowed: "admin operator", body: map[string]any{"opening_hours": "24/7"}},
		"DELETE /v1/sites/{id}":                     {allowed: "admin operator"},
		"POST /v1/sites/{id}/compartments":          {allowed: "admin operator", body: map[string]any{"label": "Z9", "size": "S"}},
		"GET /v1/sites/{id}/compartments":           {allowed: "admin operator carrier courier"},
		"GET /v1/sites/{id}/returns":                {allowed: "admin operator carrier courier"},
		"POST /v1/sites/{id}/pickup":                {allowed: "admin kiosk", body: pickup},
		"POST /v1/sites/{id}/pickup/qr":             {allowed: "admin kiosk", body: map[string]any{"token": "ABCDEFGH"}},
		"PATCH /v1/compartments/{id}":               {allowed: "admin operator", body: map[string]any{"state": "blocked"}},
		"DELETE /v1/compartments/{id}":              {allowed: "admin operator"},
		"POST /v1/carriers":                         {allowed: "admin operator", body: map[string]any{"name": "C"}},
		"GET /v1/carriers":                          {allowed: "admin operator carrier"},
		"PATCH /v1/carriers/{id}":                   {allowed: "admin operator", body: map[string]any{"fallback": "propose"}},
		"POST /v1/api-keys":                         {allowed: "admin", body: map[string]any{"role": "operator"}},
		"GET /v1/api-keys":                          {allowed: "admin"},
		"DELETE /v1/api-keys/{prefix}":              {allowed: "admin"},
		"POST /v1/parcels":                          {allowed: "admin operator carrier", body: nil},
		"GET /v1/parcels":                           {allowed: "admin operator carrier courier"},
		"GET /v1/parcels/{id}":                      {allowed: "admin operator carrier courier", hidden: true},
		"GET /v1/parcels/{id}/events":               {allowed: "admin operator carrier courier", hidden: true},
		"POST /v1/parcels/{id}/cancel":              {allowed: "admin operator carrier", hidden: true},
		"POST /v1/parcels/{id}/redirect":            {allowed: "admin operator carrier", hidden: true, body: map[string]any{"site_id": "site_nope"}},
		"POST /v1/parcels/{id}/reserve":             {allowed: "admin operator carrier courier", hidden: true},
		"POST /v1/parcels/{id}/deposit":             {allowed: "admin operator courier"},
		"POST /v1/parcels/{id}/deposit-code":        {allowed: "admin operator courier"},
		"POST /v1/parcels/{id}/collect":             {allowed: "admin operator courier"},
		"POST /v1/parcels/{id}/returned":            {allowed: "admin operator carrier courier", hidden: true},
		"POST /v1/parcels/{id}/compartment-problem": {allowed: "admin operator courier", body: map[string]any{"reason": "broken"}},
		"GET /v1/courier/manifest":                  {allowed: "admin operator carrier courier"},
		"GET /v1/track":                             {allowed: "recipient"},
		"GET /v1/track/code":                        {allowed: "recipient"},
		"POST /v1/track/extend":                     {allowed: "recipient"},
		"POST /v1/track/redirect":                   {allowed: "recipient", body: map[string]any{"site_id": "site_nope"}},
		"GET /v1/track/delegates":                   {allowed: "recipient"},
		"POST /v1/track/delegates":                  {allowed: "recipient", body: map[string]any{"name": "D", "phone": "+48600100999"}},
		"DELETE /v1/track/delegates/{id}":           {allowed: "recipient"},
		// Doorstep delivery.
		"GET /v1/carriers/{id}/doorstep-policy": {allowed: "admin operator carrier"},
		"PUT /v1/carriers/{id}/doorstep-policy": {allowed: "admin operator carrier", body: map[string]any{"value_threshold": 0,
			"categories": []string{}, "shipment_flag": true, "recipient_opt_in": true, "max_attempts": 3, "fallback": "locker",
			"radius_m": 200, "locker_search_m": 10000}},
		"POST /v1/doorstep/parcels": {allowed: "admin operator carrier", body: map[string]any{"tracking_number": "DS-AUTHZ",
			"recipient": map[string]any{"name": "A", "phone": "+48600100200"}, "size": "S", "address": "A", "lat": 1, "lon": 1,
			"time_zone": "Europe/Warsaw", "country": "PL"}},
		"GET /v1/doorstep/parcels/{id}":                   {allowed: "admin operator carrier courier", hidden: true},
		"POST /v1/doorstep/parcels/{id}/out-for-delivery": {allowed: "admin operator carrier courier", hidden: true},
		"POST /v1/doorstep/parcels/{id}/verify":           {allowed: "admin operator courier", body: map[string]any{"lat": 1, "lon": 1}},
		"POST /v1/doorstep/parcels/{id}/attempts":         {allowed: "admin operator courier", body: map[string]any{"reason": "refused", "lat": 1, "lon": 1}},
		"POST /v1/doorstep/parcels/{id}/offline": {allowed: "admin operator courier", body: map[string]any{"password": "123456",
			"lat": 1, "lon": 1, "recorded_at": "2026-03-02T09:00:00Z"}},
		"GET /v1/doorstep/offline":                      {allowed: "admin operator carrier"},
		"GET /v1/doorstep/manifest":                     {allowed: "admin operator carrier courier"},
		"GET /v1/track/doorstep":                        {allowed: "recipient"},
		"POST /v1/track/doorstep/delegates":             {allowed: "recipient", body: map[string]any{"name": "D"}},
		"POST /v1/track/doorstep/delegates/{id}/revoke": {allowed: "recipient"},
		// Locker agents.
		"GET /v1/lockers":                   {allowed: "admin operator"},
		"POST /v1/compartments/{id}/open":   {allowed: "admin operator", body: map[string]any{"reason": "recipient at the locker"}},
		"POST /v1/sites/{id}/locker/config": {allowed: "admin operator", body: map[string]any{"settings": map[string]string{"heartbeat_seconds": "60"}}},
	}
}

// Ensure every route answers every kind of caller as the matrix says, the
// matrix has a row for every route of the OpenAPI document (a new route
// without a row fails), and another carrier's parcel is 404, never 403.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t, func(c *pghttp.Config) { // hundreds of calls: no rate limits
		c.KeyLimit = pghttp.RateLimit{Rate: rate.Inf}
		c.AddressLimit = pghttp.RateLimit{Rate: rate.Inf}
	})
	w := newWorld(e)
	x := w.announce(e, "PG-AUTHZ-1")
	link := recipientLink(e, x.ID)
	tokens := map[string]string{"admin": e.admin, "operator": w.operator, "carrier": w.carrierKey, "courier": w.courier,
		"kiosk": w.kiosk, "recipient": link, "anonymous": ""}
	matrix := authzMatrix()
	parcelBody := map[string]any{"tracking_number": "PG-AUTHZ-2", "recipient": map[string]any{"name": "A", "phone": "+48600100200"},
		"size": "S", "site_id": w.site.ID, "carrier_id": w.carrier.ID}

	var doc struct {
		Paths map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	e.must(200, "GET", "/openapi.json", "", nil).decode(t, &doc)
	var routes []string
	for path, ops := range doc.Paths {
		for method := range ops {
			routes = append(routes, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(routes)
	for _, r := range routes {
		if _, ok := matrix[r]; !ok {
			t.Errorf("route %s has no row in the authorization matrix", r)
		}
	}
	for r := range matrix {
		if !slices.Contains(routes, r) {
			t.Errorf("matrix row %s matches no route", r)
		}
	}

	pathFor := func(route string) (method, path string) {
		method, path, _ = strings.Cut(route, " ")
		id := ""
		switch {
		case strings.HasPrefix(path, "/v1/sites/"):
			id = w.site.ID
		case strings.HasPrefix(path, "/v1/parcels/"):
			id = x.ID
		case strings.HasPrefix(path, "/v1/compartments/"):
			id = w.compartments[0].ID
		case strings.HasPrefix(path, "/v1/carriers/"):
			id = w.carrier.ID
		case strings.HasPrefix(path, "/v1/track/delegates/"):
			id = "grt_nope"
		case strings.HasPrefix(path, "/v1/doorstep/parcels/"):
			id = x.ID
		case strings.HasPrefix(path, "/v1/track/doorstep/delegates/"):
			id = "dpw_nope"
		}
		path = strings.ReplaceAll(path, "{id}", id)
		path = strings.ReplaceAll(path, "{prefix}", "pgk_nope00000000")
		if path == "/v1/sites/search" {
			path += "?lat=52.2&lon=21&radius=5000"
		}
		return method, path
	}

	for _, route := range routes {
		row := matrix[route]
		method, path := pathFor(route)
		body := row.body
		if route == "POST /v1/parcels" {
			body = parcelBody
		}
		for _, role := range authzRoles {
			t.Run(route+"/"+role, func(t *testing.T) {
				send := body
				if role == "carrier" && route == "POST /v1/parcels" {
					b := map[string]any{}
					for k, v := range parcelBody {
						b[k] = v
					}
					delete(b, "carrier_id")
					send = b
				}
				if send == nil && (method == "POST" || method == "PATCH") {
					send = map[string]any{}
				}
				r := e.do(method, path, tokens[role], send)
				if r.status >= 500 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				var p problem
				_ = json.Unmarshal(r.body, &p)
				forbidden := r.status == http.StatusForbidden && strings.HasSuffix(p.Type, "/forbidden")
				switch {
				case row.allowed == "public" || slices.Contains(strings.Fields(row.allowed), role):
					if r.status == http.StatusUnauthorized || forbidden {
						t.Fatalf("allowed caller got %d: %s", r.status, r.body)
					}
				case role == "anonymous" || role == "recipient" || row.allowed == "recipient":
					if r.status != http.StatusUnauthorized {
						t.Fatalf("got %d, want 401: %s", r.status, r.body)
					}
				default:
					if !forbidden {
						t.Fatalf("got %d, want 403 forbidden: %s", r.status, r.body)
					}
				}
			})
		}
		if row.hidden {
			t.Run(route+"/other-carrier", func(t *testing.T) {
				send := body
				if send == nil && method == "POST" {
					send = map[string]any{}
				}
				if strings.HasSuffix(route, "/redirect") {
					send = map[string]any{"site_id": w.site.ID}
				}
				mustProblem(t, e.do(method, path, w.other, send), 404, "not_found")
				mustProblem(t, e.do(method, strings.Replace(path, x.ID, "par_01aaaaaaaaaaaaaaaaaaaaaaaa", 1), w.other, send), 404, "not_found")
			})
		}
	}
}
