package http_test

import (
	"context"
	"strings"
	"testing"
	"time"

	pghttp "github.com/parcelguard/parcelguard/http"
)

func TestTrack(t *testing.T) {
	// Ensure a recipient link shows its parcel, its code and QR token, and
	// extends the deadline once; and that the link never reaches a log.
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := newWorld(e)
		x, pin := w.deposit(e, "PG-6001")
		link, err := e.svc.RecipientLink(context.Background(), x.ID)
		if err != nil {
			t.Fatal(err)
		}
		var tr pghttp.Tracking
		r := e.must(200, "GET", "/v1/track", link, nil)
		r.decode(t, &tr)
		if tr.ParcelID != x.ID || tr.State != "deposited" || tr.Carrier != "PostNord" || !tr.CanExtend || tr.DeadlineExtended ||
			tr.Locker == nil || tr.Locker.Address != w.site.Address || !strings.Contains(tr.Locker.MapURL, "openstreetmap.org") ||
			!tr.Deadline.Equal(x.Deadline) || len(tr.Timeline) != 3 || tr.Timeline[2].Kind != "parcel.deposited" {
			t.Fatalf("tracking %+v", tr)
		}
		if strings.Contains(string(r.body), "+48600100200") || strings.Contains(string(r.body), "compartment") {
			t.Fatalf("tracking shows too much: %s", r.body)
		}

		var code pghttp.PickupCode
		r = e.must(200, "GET", "/v1/track/code", link, nil)
		r.decode(t, &code)
		if code.PIN != pin || code.QRToken == "" || code.SiteID != w.site.ID || !code.PhoneDigitsRequired || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("code %+v, Cache-Control %q", code, r.header.Get("Cache-Control"))
		}

		e.must(200, "POST", "/v1/track/extend", link, nil).decode(t, &tr)
		if !tr.DeadlineExtended || tr.CanExtend || !tr.Deadline.Equal(x.Deadline.Add(24*time.Hour)) {
			t.Fatalf("after extension %+v", tr)
		}
		mustProblem(t, e.do("POST", "/v1/track/extend", link, nil), 409, "conflict")

		var res pghttp.PickupResult
		e.must(200, "POST", "/v1/sites/"+w.site.ID+"/pickup/qr", w.kiosk, map[string]string{"token": code.QRToken}).decode(t, &res)
		if res.ParcelID != x.ID {
			t.Fatalf("qr pickup %+v", res)
		}
		e.must(200, "GET", "/v1/track", link, nil).decode(t, &tr)
		if tr.State != "picked_up" || tr.Timeline[len(tr.Timeline)-1].Kind != "parcel.picked_up" {
			t.Fatalf("after pickup %+v", tr)
		}
		mustProblem(t, e.do("GET", "/v1/track/code", link, nil), 409, "conflict")

		logs := e.logs.String()
		for _, secret := range []string{link, link[4:20], code.QRToken, code.QRToken[:20], pin} {
			if strings.Contains(logs, secret) {
				t.Fatalf("log contains a secret %q:\n%s", secret, logs)
			}
		}
	})

	// Ensure a missing, tampered, expired or wrong-kind credential is 401,
	// and that a link opens no other route.
	t.Run("ErrUnauthorized", func(t *testing.T) {
		e := newEnv(t)
		w := newWorld(e)
		x, _ := w.deposit(e, "PG-6101")
		link, err := e.svc.RecipientLink(context.Background(), x.ID)
		if err != nil {
			t.Fatal(err)
		}
		tampered := link[:len(link)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(link, "0")]
		for name, tok := range map[string]string{"missing": "", "tampered": tampered, "api key": w.carrierKey, "kiosk": w.kiosk} {
			for _, path := range []string{"/v1/track", "/v1/track/code"} {
				r := e.do("GET", path, tok, nil)
				mustProblem(t, r, 401, "unauthorized")
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("%s %s: no challenge", name, path)
				}
			}
			mustProblem(t, e.do("POST", "/v1/track/extend", tok, nil), 401, "unauthorized")
		}
		for _, path := range []string{"/v1/parcels", "/v1/parcels/" + x.ID, "/v1/sites/" + w.site.ID} {
			mustProblem(t, e.do("GET", path, link, nil), 401, "unauthorized")
		}
		mustProblem(t, e.do("POST", "/v1/sites/"+w.site.ID+"/pickup", link, map[string]string{"pin": "123456"}), 401, "unauthorized")
		// A link for another parcel sees that parcel only.
		y := w.announce(e, "PG-6102")
		other, err := e.svc.RecipientLink(context.Background(), y.ID)
		if err != nil {
			t.Fatal(err)
		}
		var tr pghttp.Tracking
		e.must(200, "GET", "/v1/track", other, nil).decode(t, &tr)
		if tr.ParcelID != y.ID || tr.Locker == nil || tr.CanExtend {
			t.Fatalf("other link: %+v", tr)
		}
		mustProblem(t, e.do("GET", "/v1/track/code", other, nil), 409, "conflict")
		mustProblem(t, e.do("POST", "/v1/track/extend", other, nil), 409, "conflict")
		// Expired: 7 days after the deadline.
		e.clock.Advance(72*time.Hour + 7*24*time.Hour)
		mustProblem(t, e.do("GET", "/v1/track", link, nil), 401, "unauthorized")
	})
}

func TestPickupQR(t *testing.T) {
	// Ensure a QR token opens once, only at its site, only while valid, and
	// that garbage tokens do not slow the kiosk down for PIN users.
	e := newEnv(t)
	w := newWorld(e)
	qr := func(x pghttp.Parcel) string {
		link, err := e.svc.RecipientLink(context.Background(), x.ID)
		if err != nil {
			t.Fatal(err)
		}
		var code pghttp.PickupCode
		e.must(200, "GET", "/v1/track/code", link, nil).decode(t, &code)
		return code.QRToken
	}
	x, _ := w.deposit(e, "PG-6201")
	token := qr(x)

	// Another site's kiosk: its own route refuses the token.
	var other pghttp.Site
	e.must(201, "POST", "/v1/sites", w.operator, map[string]any{"name": "Elsewhere", "address": "B", "lat": 1, "lon": 1}).decode(t, &other)
	otherKiosk := createKey(e, map[string]any{"role": "kiosk", "site_id": other.ID})
	mustProblem(t, e.do("POST", "/v1/sites/"+other.ID+"/pickup/qr", otherKiosk, map[string]string{"token": token}), 403, "rejected")
	mustProblem(t, e.do("POST", "/v1/sites/"+w.site.ID+"/pickup/qr", otherKiosk, map[string]string{"token": token}), 403, "forbidden")

	for range 12 {
		forged := "AAAAAA" + token[6:]
		r := e.do("POST", "/v1/sites/"+w.site.ID+"/pickup/qr", w.kiosk, map[string]string{"token": forged})
		mustProblem(t, r, 403, "rejected")
	}
	mustProblem(t, e.do("POST", "/v1/sites/"+w.site.ID+"/pickup/qr", w.kiosk, map[string]string{"token": "not base32!"}), 422, "invalid")

	e.must(200, "POST", "/v1/sites/"+w.site.ID+"/pickup/qr", w.kiosk, map[string]string{"token": token})
	r := e.do("POST", "/v1/sites/"+w.site.ID+"/pickup/qr", w.kiosk, map[string]string{"token": token})
	mustProblem(t, r, 403, "rejected")

	// PIN users are not throttled by the forged scans.
	y, pin := w.deposit(e, "PG-6202")
	e.must(200, "POST", "/v1/sites/"+w.site.ID+"/pickup", w.kiosk, map[string]string{"pin": pin, "phone_digits": "0200"})
	_ = y

	// Expired: past the deadline (before the expiry timer ran).
	z, _ := w.deposit(e, "PG-6203")
	late := qr(z)
	e.clock.Advance(73 * time.Hour)
	p := mustProblem(t, e.do("POST", "/v1/sites/"+w.site.ID+"/pickup/qr", w.kiosk, map[string]string{"token": late}), 403, "rejected")
	if !strings.Contains(p.Detail, "expired") {
		t.Fatalf("detail %q", p.Detail)
	}

	// Every failure is in the audit trail, without the token.
	var events pghttp.List[pghttp.Event]
	e.must(200, "GET", "/v1/parcels/"+x.ID+"/events", w.operator, nil).decode(t, &events)
	for _, ev := range events.Items {
		for _, v := range ev.Data {
			if strings.Contains(v, token[:20]) {
				t.Fatalf("event %+v holds the token", ev)
			}
		}
	}
}
