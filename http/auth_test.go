package http_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// route is one secured operation with a body valid enough to get past
// schema validation, so that what answers is the authorization check.
type route struct {
	method, path string
	body         any
	// allowed lists the roles that get past authorization; every other
	// role must get 403 (or 404 where noted).
	allowed []string
}

// routes lists every secured operation against a world with one
// announced parcel x.
func routes(w *world, parcelID string) []route {
	site := "/v1/sites/" + w.site.ID
	parcel := "/v1/parcels/" + parcelID
	return []route{
		{"POST", "/v1/sites", map[string]any{"name": "S", "address": "A", "lat": 1, "lon": 1}, []string{"admin", "operator"}},
		{"GET", site, nil, []string{"admin", "operator", "carrier", "courier", "kiosk"}},
		{"POST", site + "/compartments", map[string]any{"label": "Z9", "size": "S"}, []string{"admin", "operator"}},
		{"GET", site + "/compartments", nil, []string{"admin", "operator", "carrier", "courier"}},
		{"PATCH", "/v1/compartments/" + w.compartments[2].ID, map[string]any{"state": "free"}, []string{"admin", "operator"}},
		{"POST", "/v1/carriers", map[string]any{"name": "N"}, []string{"admin", "operator"}},
		{"POST", "/v1/api-keys", map[string]any{"role": "operator"}, []string{"admin"}},
		{"POST", "/v1/parcels", map[string]any{"tracking_number": "PG-AUTH", "size": "S", "site_id": w.site.ID,
			"recipient": map[string]any{"name": "R", "phone": "+48600100299"}}, []string{"admin", "operator", "carrier"}},
		{"GET", parcel, nil, []string{"admin", "operator", "carrier", "courier"}},
		{"GET", "/v1/parcels", nil, []string{"admin", "operator", "carrier", "courier"}},
		{"GET", parcel + "/events", nil, []string{"admin", "operator", "carrier", "courier"}},
		{"POST", parcel + "/reserve", nil, []string{"admin", "operator", "carrier", "courier"}},
		{"POST", parcel + "/deposit", nil, []string{"admin", "operator", "courier"}},
		{"POST", parcel + "/collect", nil, []string{"admin", "operator", "courier"}},
		{"POST", parcel + "/returned", nil, []string{"admin", "operator", "carrier", "courier"}},
		{"POST", parcel + "/cancel", nil, []string{"admin", "operator", "carrier"}},
		{"GET", site + "/returns", nil, []string{"admin", "operator", "carrier", "courier"}},
		{"POST", site + "/pickup", map[string]string{"pin": "000000", "phone_digits": "0000"}, []string{"admin", "kiosk"}},
		{"POST", site + "/pickup/qr", map[string]string{"token": "AAAA"}, []string{"admin", "kiosk"}},
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	w := newWorld(e)
	x := w.announce(e, "PG-3001")

	// Ensure every secured route refuses a missing, malformed, unknown or
	// wrong-scheme credential with 401 and a Bearer challenge.
	for _, rt := range routes(w, x.ID) {
		for name, header := range map[string]string{
			"missing":   "",
			"unknown":   "Bearer pgk_aaaaaaaaaaaa_" + strings.Repeat("b", 52),
			"truncated": "Bearer " + w.operator[:len(w.operator)-1],
			"garbage":   "Bearer ../../etc/passwd",
			"basic":     "Basic " + w.operator,
			"empty":     "Bearer ",
		} {
			r := doHeader(t, e, rt.method, rt.path, header, rt.body)
			mustProblem(t, r, 401, "unauthorized")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s %s (%s): WWW-Authenticate %q", rt.method, rt.path, name, r.header.Get("WWW-Authenticate"))
			}
		}
	}

	// Ensure public routes need no key.
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"} {
		e.must(200, "GET", path, "", nil)
	}
}

// doHeader sends a JSON request with a raw Authorization header.
func doHeader(t *testing.T, e *env, method, path, authorization string, body any) response {
	t.Helper()
	data := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		data = string(b)
	}
	return doRaw(t, e, method, path, authorization, "application/json", data)
}

func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	w := newWorld(e)
	x := w.announce(e, "PG-3101")
	keys := map[string]string{
		"admin": e.admin, "operator": w.operator, "carrier": w.carrierKey, "courier": w.courier, "kiosk": w.kiosk,
	}

	// Ensure each role passes authorization exactly on its routes; the
	// others answer 403.
	for _, rt := range routes(w, x.ID) {
		for role, key := range keys {
			allowed := false
			for _, a := range rt.allowed {
				allowed = allowed || a == role
			}
			r := e.do(rt.method, rt.path, key, rt.body)
			// A 403 "rejected" is a refused PIN: authorization passed.
			denied := r.status == 401 || r.status == 403 && bytes.Contains(r.body, []byte("/problems/forbidden"))
			switch {
			case allowed && denied:
				t.Errorf("%s %s as %s: %d, want it allowed: %s", rt.method, rt.path, role, r.status, r.body)
			case !allowed && r.status != 403:
				t.Errorf("%s %s as %s: %d, want 403: %s", rt.method, rt.path, role, r.status, r.body)
			case !allowed:
				mustProblem(t, r, 403, "forbidden")
			}
		}
	}
}

func TestCarrierIsolation(t *testing.T) {
	e := newEnv(t)
	w := newWorld(e)
	x := w.announce(e, "PG-3201")

	// Ensure another carrier's parcel answers exactly like a missing one, on
	// every route that names a parcel.
	for _, suffix := range []string{"", "/events", "/reserve", "/cancel", "/returned"} {
		method := "POST"
		if suffix == "" || suffix == "/events" {
			method = "GET"
		}
		foreign := e.do(method, "/v1/parcels/"+x.ID+suffix, w.other, nil)
		missing := e.do(method, "/v1/parcels/par_00000000000000000000000000"+suffix, w.other, nil)
		mustProblem(t, foreign, 404, "not_found")
		if !bytes.Equal(foreign.body, missing.body) {
			t.Fatalf("%s %s: foreign parcel %s differs from missing %s", method, suffix, foreign.body, missing.body)
		}
	}

	// Ensure a kiosk opens doors only at its own site.
	var other struct{ ID string }
	e.must(201, "POST", "/v1/sites", w.operator, map[string]any{"name": "Elsewhere", "address": "B", "lat": 1, "lon": 1}).decode(t, &other)
	r := e.do("POST", "/v1/sites/"+other.ID+"/pickup", w.kiosk, map[string]string{"pin": "123456", "phone_digits": "0200"})
	mustProblem(t, r, 403, "forbidden")
}
