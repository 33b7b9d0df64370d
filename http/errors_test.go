package http_test

import (
	"strings"
	"testing"

	pghttp "github.com/parcelguard/parcelguard/http"
)

func TestProblems(t *testing.T) {
	e := newEnv(t)
	w := newWorld(e)
	validParcel := func() map[string]any {
		return map[string]any{
			"tracking_number": "PG-2001",
			"recipient":       map[string]any{"name": "Jan Kowalski", "phone": "+48600100201"},
			"size":            "M",
			"site_id":         w.site.ID,
		}
	}

	// Ensure schema violations list every offending field by location.
	t.Run("ErrInvalidFields", func(t *testing.T) {
		body := validParcel()
		body["recipient"] = map[string]any{"name": "Jan", "phone": "600100201"}
		body["size"] = "XXL"
		p := mustProblem(t, e.do("POST", "/v1/parcels", w.carrierKey, body), 422, "invalid")
		locations := map[string]bool{}
		for _, f := range p.Errors {
			locations[f.Location] = true
			if f.Message == "" {
				t.Errorf("field %s without message", f.Location)
			}
			if f.Value != nil {
				t.Errorf("field %s echoes its value %v", f.Location, f.Value)
			}
		}
		if !locations["body.recipient.phone"] || !locations["body.size"] {
			t.Fatalf("errors %+v lack body.recipient.phone or body.size", p.Errors)
		}
	})

	// Ensure rules only the domain knows come back in the same shape.
	t.Run("ErrInvalidDomain", func(t *testing.T) {
		p := mustProblem(t, e.do("POST", "/v1/sites", w.operator, map[string]any{
			"name": "X", "address": "Y", "lat": 1, "lon": 2, "time_zone": "Mars/Olympus_Mons",
		}), 422, "invalid")
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.time_zone" {
			t.Fatalf("errors %+v", p.Errors)
		}
		body := validParcel()
		body["site_id"] = "site_doesnotexist"
		p = mustProblem(t, e.do("POST", "/v1/parcels", w.carrierKey, body), 422, "invalid")
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.site_id" {
			t.Fatalf("errors %+v", p.Errors)
		}
	})

	// Ensure unknown JSON fields are rejected rather than ignored.
	t.Run("ErrUnknownField", func(t *testing.T) {
		body := validParcel()
		body["colour"] = "red"
		p := mustProblem(t, e.do("POST", "/v1/parcels", w.carrierKey, body), 422, "invalid")
		if len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Location, "colour") {
			t.Fatalf("errors %+v", p.Errors)
		}
		body = validParcel()
		body["recipient"].(map[string]any)["pin"] = "123456"
		mustProblem(t, e.do("POST", "/v1/parcels", w.carrierKey, body), 422, "invalid")
	})

	// Ensure a carrier key cannot announce for another carrier.
	t.Run("ErrForeignCarrier", func(t *testing.T) {
		body := validParcel()
		body["carrier_id"] = "car_someoneelse"
		p := mustProblem(t, e.do("POST", "/v1/parcels", w.carrierKey, body), 422, "invalid")
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.carrier_id" {
			t.Fatalf("errors %+v", p.Errors)
		}
	})

	// Ensure bodies that do not parse are 400, empty ones too.
	t.Run("ErrMalformed", func(t *testing.T) {
		mustProblem(t, e.do("POST", "/v1/parcels", w.carrierKey, `{"tracking_number":`), 400, "malformed")
		mustProblem(t, e.do("POST", "/v1/parcels", w.carrierKey, ""), 400, "malformed")
	})

	// Ensure bodies over the cap are refused with 413.
	t.Run("ErrTooLarge", func(t *testing.T) {
		huge := `{"tracking_number":"PG-1","recipient":{"name":"` + strings.Repeat("a", pghttp.DefaultMaxBodyBytes) + `"}}`
		mustProblem(t, e.do("POST", "/v1/parcels", w.carrierKey, huge), 413, "too_large")
	})

	// Ensure a field holding a code is never echoed back, even when wrong.
	t.Run("ErrInvalidPINNotEchoed", func(t *testing.T) {
		r := e.do("POST", "/v1/sites/"+w.site.ID+"/pickup", w.kiosk, map[string]string{"pin": "98765x", "phone_digits": "43210"})
		p := mustProblem(t, r, 422, "invalid")
		if len(p.Errors) != 2 {
			t.Fatalf("errors %+v", p.Errors)
		}
		if strings.Contains(string(r.body), "98765x") || strings.Contains(string(r.body), "43210") {
			t.Fatalf("problem echoes the code: %s", r.body)
		}
		r = e.do("POST", "/v1/sites/"+w.site.ID+"/pickup", w.kiosk, `{"pin": 987654x}`)
		mustProblem(t, r, 400, "malformed")
		if strings.Contains(string(r.body), "987654") {
			t.Fatalf("problem echoes the malformed body: %s", r.body)
		}
	})

	// Ensure unknown routes and wrong methods answer problem+json too.
	t.Run("ErrNoRoute", func(t *testing.T) {
		mustProblem(t, e.do("GET", "/v1/nothing", w.operator, nil), 404, "not_found")
		mustProblem(t, e.do("GET", "/", "", nil), 404, "not_found")
		r := e.do("PUT", "/v1/sites/"+w.site.ID, w.operator, nil)
		mustProblem(t, r, 405, "method_not_allowed")
		if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") {
			t.Fatalf("Allow %q", allow)
		}
	})

	// Ensure a body that is not JSON is refused as such.
	t.Run("ErrUnsupportedMediaType", func(t *testing.T) {
		r := doRaw(t, e, "POST", "/v1/carriers", bearer(w.operator), "text/plain", `{"name":"X"}`)
		mustProblem(t, r, 415, "unsupported_media_type")
	})
}

func TestInternalError(t *testing.T) {
	// Ensure an unexpected failure answers a generic 500 problem and its
	// cause goes to the log only.
	e := newEnv(t)
	w := newWorld(e)
	e.faults.failUpdates.Store(true)
	r := e.do("POST", "/v1/carriers", w.operator, map[string]any{"name": "Doomed"})
	p := mustProblem(t, r, 500, "internal")
	if p.Detail != "internal error" || strings.Contains(string(r.body), "disk") {
		t.Fatalf("internal problem leaks: %s", r.body)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, errDiskOnFire.Error()) || !strings.Contains(logs, `"route":"POST /v1/carriers"`) {
		t.Fatalf("cause not logged with its route:\n%s", logs)
	}
	if strings.Contains(logs, "Doomed") {
		t.Fatalf("request body reached the log:\n%s", logs)
	}
}

func TestCreateCarrier(t *testing.T) {
	e := newEnv(t)
	w := newWorld(e)

	// Ensure the phone second factor is on unless turned off explicitly.
	t.Run("PhoneFactorDefault", func(t *testing.T) {
		var c pghttp.Carrier
		e.must(201, "POST", "/v1/carriers", w.operator, map[string]any{"name": "A"}).decode(t, &c)
		if !c.PhoneFactor {
			t.Fatal("absent phone_factor turned the second factor off")
		}
		e.must(201, "POST", "/v1/carriers", w.operator, map[string]any{"name": "B", "phone_factor": true}).decode(t, &c)
		if !c.PhoneFactor {
			t.Fatal("phone_factor true turned it off")
		}
		e.must(201, "POST", "/v1/carriers", w.operator, map[string]any{"name": "C", "phone_factor": false}).decode(t, &c)
		if c.PhoneFactor {
			t.Fatal("explicit phone_factor false ignored")
		}
		// null is "not given", so the safe default holds.
		e.must(201, "POST", "/v1/carriers", w.operator, `{"name":"D","phone_factor":null}`).decode(t, &c)
		if !c.PhoneFactor {
			t.Fatal("phone_factor null turned the second factor off")
		}
	})

	// Ensure durations travel as seconds.
	t.Run("StoragePeriod", func(t *testing.T) {
		var c pghttp.Carrier
		e.must(201, "POST", "/v1/carriers", w.operator, map[string]any{"name": "E", "storage_period_seconds": 86400}).decode(t, &c)
		if c.StoragePeriodSeconds != 86400 {
			t.Fatalf("storage_period_seconds %d", c.StoragePeriodSeconds)
		}
		p := mustProblem(t, e.do("POST", "/v1/carriers", w.operator, map[string]any{"name": "F", "storage_period_seconds": 15 * 86400}), 422, "invalid")
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.storage_period_seconds" {
			t.Fatalf("errors %+v", p.Errors)
		}
	})
}
