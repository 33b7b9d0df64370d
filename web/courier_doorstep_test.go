package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard"
)

// Ensure the courier's day lists doorstep deliveries in route order, a
// found doorstep parcel opens its handover page, and the handover checks
// position and password: no position, far away and a wrong password are
// refused with a clear answer; the right one delivers; a failed attempt
// with a reason reschedules.
func TestCourierDoorstep(t *testing.T) {
	x := newHarness(t)
	d1, d2 := x.doorstep("PX-H1"), x.doorstep("PX-H2")
	b := x.signedIn("courier", "kurt", parcelguard.RoleCourier)
	if res := b.get("/courier/find?tracking=PX-H1"); res.header.Get("Location") != "/courier/doorstep/"+d1.Parcel.ID {
		t.Fatalf("find a doorstep parcel: %d %q", res.status, res.header.Get("Location"))
	}
	must(x.svc.OutForDelivery(x.ctx, x.courier, d2.Parcel.ID, 1))(t)
	page := "/courier/doorstep/" + d1.Parcel.ID
	if res := b.post(page, page+"/out", nil); res.header.Get("Location") != page+"?done=out" {
		t.Fatalf("out for delivery: %d %q", res.status, res.header.Get("Location"))
	}
	today := b.get("/courier/")
	i, j := strings.Index(today.body, "PX-H2"), strings.Index(today.body, "PX-H1")
	if !strings.Contains(today.body, `id="route"`) || i < 0 || j < 0 || i > j {
		t.Fatalf("doorstep deliveries not in route order (%d, %d):\n%s", i, j, today.body)
	}
	res := b.get(page)
	for _, want := range []string{`id="password"`, `id="lat"`, `id="lon"`, `id="locate"`, `formaction="` + page + `/fail"`, "/assets/geo.js"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("handover page lacks %q", want)
		}
	}
	at := url.Values{"lat": {"48.1425"}, "lon": {"11.5530"}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range at {
			v[k] = vs
		}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	if res := b.post(page, page+"/verify", url.Values{"password": {"123456"}}); res.header.Get("Location") != page+"?problem=position" {
		t.Errorf("no position: %q", res.header.Get("Location"))
	}
	far := url.Values{"lat": {"48.20"}, "lon": {"11.60"}, "password": {"123456"}}
	if res := b.post(page, page+"/verify", far); res.header.Get("Location") != page+"?problem=away" {
		t.Errorf("far away: %q", res.header.Get("Location"))
	}
	a := must(x.svc.AuthenticateRecipient(x.ctx, must(x.svc.RecipientLink(x.ctx, d1.Parcel.ID))(t)))(t)
	pw := must(x.svc.TrackDoorstep(x.ctx, a))(t).Password
	wrong := "000000"
	if pw == wrong {
		wrong = "000001"
	}
	if res := b.post(page, page+"/verify", with("password", wrong)); res.header.Get("Location") != page+"?problem=wrong" {
		t.Fatalf("wrong password: %q", res.header.Get("Location"))
	}
	if res := b.get(page + "?problem=wrong"); !strings.Contains(res.body, "Tries left today: 4") {
		t.Errorf("tries left not shown:\n%s", res.body)
	}
	if res := b.post(page, page+"/verify", with("password", "12ab")); res.header.Get("Location") != page+"?problem=password" {
		t.Errorf("malformed password: %q", res.header.Get("Location"))
	}
	res = b.post(page, page+"/verify", with("password", pw, "tracking", "PX-H1"))
	if res.header.Get("Location") != "/courier/?done=delivered&t=PX-H1" {
		t.Fatalf("right password: %d %q", res.status, res.header.Get("Location"))
	}
	if got := must(x.svc.Parcel(x.ctx, x.courier, d1.Parcel.ID))(t); got.State != parcelguard.ParcelDelivered {
		t.Fatalf("state %s after handover", got.State)
	}
	if res := b.get(page); !strings.Contains(res.body, `id="proof"`) {
		t.Error("the delivered parcel shows no proof")
	}
	page2 := "/courier/doorstep/" + d2.Parcel.ID
	if res := b.post(page2, page2+"/fail", with("reason", "lost_interest")); res.header.Get("Location") != page2+"?problem=reason" {
		t.Errorf("bad reason: %q", res.header.Get("Location"))
	}
	res = b.post(page2, page2+"/fail", with("reason", string(parcelguard.ReasonNotAtHome)))
	if res.header.Get("Location") != "/courier/?done=attempt&t=PX-H2" {
		t.Fatalf("failed attempt: %d %q", res.status, res.header.Get("Location"))
	}
	if got := must(x.svc.Parcel(x.ctx, x.courier, d2.Parcel.ID))(t); got.State != parcelguard.ParcelRescheduled {
		t.Fatalf("state %s after a failed attempt", got.State)
	}
}

// Ensure a courier can report the reserved compartment as broken and is
// shown the replacement, and that a report needs a reason.
func TestCourierCompartmentProblem(t *testing.T) {
	x := newHarness(t)
	p := x.parcel("PX-C1", 1)
	b := x.signedIn("courier", "kurt", parcelguard.RoleCourier)
	page := "/courier/parcels/" + p.ID
	if res := b.get(page); !strings.Contains(res.body, `action="`+page+`/problem"`) {
		t.Fatal("no problem report on the deposit step")
	}
	if res := b.post(page, page+"/problem", url.Values{"reason": {"  "}}); res.header.Get("Location") != page+"?problem=reason" {
		t.Errorf("empty reason: %q", res.header.Get("Location"))
	}
	res := b.post(page, page+"/problem", url.Values{"reason": {"door jammed"}})
	if res.header.Get("Location") != page+"?done=replaced" {
		t.Fatalf("report: %d %q", res.status, res.header.Get("Location"))
	}
	got := must(x.svc.Parcel(x.ctx, x.courier, p.ID))(t)
	if got.State != parcelguard.ParcelReserved || got.CompartmentID == p.CompartmentID || got.CompartmentID == "" {
		t.Fatalf("after the report: %s in %q (was %q)", got.State, got.CompartmentID, p.CompartmentID)
	}
	var newLabel string
	for _, c := range must(x.svc.Compartments(x.ctx, parcelguard.System, x.site.ID))(t) {
		switch c.ID {
		case p.CompartmentID:
			if c.State != parcelguard.CompartmentOutOfOrder {
				t.Errorf("broken compartment is %s", c.State)
			}
		case got.CompartmentID:
			newLabel = c.Label
		}
	}
	if res := b.get(page + "?done=replaced"); !strings.Contains(res.body, "Use compartment "+newLabel+" instead") {
		t.Errorf("replacement %s not shown", newLabel)
	}
}
