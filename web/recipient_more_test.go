package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure the recipient can name a delegate for a deposited parcel (the
// code goes to the delegate, never onto the page), sees it listed, can
// withdraw it, and gets a clear answer for bad input or a foreign id.
func TestRecipientDelegates(t *testing.T) {
	x := newHarness(t)
	p := x.parcel("PX-D1", 2)
	b := x.browser()
	b.openLink(p.ID)
	page := b.get("/parcel")
	for _, want := range []string{`action="/parcel/delegates"`, `id="delegate-name"`, `type="tel"`} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("tracking page lacks %q", want)
		}
	}
	if strings.Contains(page.body, `action="/parcel/redirect"`) {
		t.Error("a deposited parcel offers another locker")
	}
	bad := b.post("/parcel", "/parcel/delegates", url.Values{"name": {"Charles"}, "phone": {"0049 123"}})
	if bad.status != http.StatusSeeOther || !strings.Contains(bad.header.Get("Location"), "problem=delegate") {
		t.Fatalf("bad phone: %d %q", bad.status, bad.header.Get("Location"))
	}
	if got := b.get(bad.header.Get("Location")); !strings.Contains(got.body, `role="alert"`) {
		t.Error("no problem shown for a bad phone number")
	}
	res := b.post("/parcel", "/parcel/delegates", url.Values{"name": {"Charles Babbage"}, "phone": {"+49 151 98765432"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/parcel?done=delegated" {
		t.Fatalf("create: %d %q", res.status, res.header.Get("Location"))
	}
	a := must(x.svc.AuthenticateRecipient(x.ctx, must(x.svc.RecipientLink(x.ctx, p.ID))(t)))(t)
	ds := must(x.svc.Delegates(x.ctx, a))(t)
	if len(ds) != 1 || ds[0].Delegate.Phone != "+4915198765432" {
		t.Fatalf("delegates %+v", ds)
	}
	code, _ := must2(x.svc.GrantCode(x.ctx, ds[0].Grant.ID))(t)
	page = b.get("/parcel?done=delegated")
	if !strings.Contains(page.body, "Charles Babbage") || !strings.Contains(page.body, `role="status"`) {
		t.Fatalf("delegate not listed:\n%s", page.body)
	}
	if strings.Contains(page.body, code) {
		t.Error("the delegate's code is on the recipient's page")
	}
	// A grant id of another parcel is not found, not revoked.
	q := x.parcel("PX-D2", 2)
	qa := must(x.svc.AuthenticateRecipient(x.ctx, must(x.svc.RecipientLink(x.ctx, q.ID))(t)))(t)
	_, other := must2(x.svc.CreateDelegate(x.ctx, qa, parcelguard.Delegate{Name: "Eve", Email: "eve@example.com"}))(t)
	res = b.post("/parcel", "/parcel/delegates/revoke", url.Values{"id": {other.ID}})
	if !strings.Contains(res.header.Get("Location"), "problem=state") {
		t.Errorf("foreign revoke: %d %q", res.status, res.header.Get("Location"))
	}
	res = b.post("/parcel", "/parcel/delegates/revoke", url.Values{"id": {ds[0].Grant.ID}})
	if res.header.Get("Location") != "/parcel?done=revoked" {
		t.Fatalf("revoke: %d %q", res.status, res.header.Get("Location"))
	}
	if g := must(x.svc.Delegates(x.ctx, a))(t)[0].Grant; g.State != parcelguard.GrantRevoked {
		t.Errorf("grant %s after revoke", g.State)
	}
	if g := must(x.svc.Delegates(x.ctx, qa))(t)[0].Grant; g.State != parcelguard.GrantActive {
		t.Errorf("the other parcel's delegate was touched: %s", g.State)
	}
	// Without the form's token nothing happens.
	res = b.do(http.MethodPost, "/parcel/delegates", url.Values{"name": {"Mallory"}, "email": {"m@example.com"}})
	if res.status != http.StatusForbidden || len(must(x.svc.Delegates(x.ctx, a))(t)) != 1 {
		t.Errorf("delegate without CSRF token: %d", res.status)
	}
}

// must2 is must for calls with two results.
func must2[A, B any](a A, b B, err error) func(testing.TB) (A, B) {
	return func(t testing.TB) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

// Ensure a parcel not yet deposited offers the lockers near its own with
// room for it, nearest first (not the far one, not the full one), and
// moves there; once deposited it offers none.
func TestRecipientRedirect(t *testing.T) {
	x := newHarness(t)
	sys := parcelguard.System
	site := func(name string, lat float64, sizes ...parcelguard.SizeClass) *parcelguard.Site {
		s := must(x.svc.CreateSite(x.ctx, sys, parcelguard.Site{Name: name, Address: name + " 1, München", Lat: lat, Lon: 11.56,
			TimeZone: "Europe/Berlin"}))(t)
		for i, size := range sizes {
			must(x.svc.AddCompartment(x.ctx, sys, parcelguard.Compartment{SiteID: s.ID, Label: "B" + string(rune('1'+i)), Size: size}))(t)
		}
		return s
	}
	near := site("Sendlinger Tor", 48.15, "M")   // about 1.1 km
	nearer := site("Karlsplatz", 48.145, "S")    // about 0.6 km
	full := site("Marienplatz", 48.142)          // no compartment
	far := site("Augsburg Hbf", 48.40, "S", "S") // about 29 km
	p := x.parcel("PX-R1", 0)
	b := x.browser()
	b.openLink(p.ID)
	page := b.get("/parcel")
	i, j := strings.Index(page.body, nearer.Name), strings.Index(page.body, near.Name)
	if i < 0 || j < 0 || i > j {
		t.Fatalf("nearby lockers not listed nearest first (%d, %d):\n%s", i, j, page.body)
	}
	for _, s := range []*parcelguard.Site{full, far} {
		if strings.Contains(page.body, s.Name) {
			t.Errorf("%s is offered", s.Name)
		}
	}
	if strings.Contains(page.body, `value="`+x.site.ID+`"`) {
		t.Error("the current locker is offered")
	}
	if res := b.post("/parcel", "/parcel/redirect", url.Values{}); !strings.Contains(res.header.Get("Location"), "problem=site") {
		t.Errorf("no locker chosen: %q", res.header.Get("Location"))
	}
	res := b.post("/parcel", "/parcel/redirect", url.Values{"site": {near.ID}})
	if res.header.Get("Location") != "/parcel?done=redirected" {
		t.Fatalf("redirect: %d %q", res.status, res.header.Get("Location"))
	}
	if got := must(x.svc.Parcel(x.ctx, sys, p.ID))(t); got.SiteID != near.ID {
		t.Fatalf("parcel at %s, want %s", got.SiteID, near.ID)
	}
	if page := b.get("/parcel?done=redirected"); !strings.Contains(page.body, near.Address) {
		t.Error("the page does not show the new locker")
	}
	d := x.parcel("PX-R2", 2)
	b2 := x.browser()
	b2.openLink(d.ID)
	if page := b2.get("/parcel"); strings.Contains(page.body, `action="/parcel/redirect"`) {
		t.Error("a deposited parcel offers another locker")
	}
	if res := b2.post("/parcel", "/parcel/redirect", url.Values{"site": {near.ID}}); !strings.Contains(res.header.Get("Location"), "problem=state") {
		t.Errorf("redirect after deposit: %q", res.header.Get("Location"))
	}
}

// doorstep announces a doorstep parcel that needs a password.
func (x *harness) doorstep(tracking string) *service.DoorstepParcel {
	x.t.Helper()
	cp := parcelguard.Principal{Role: parcelguard.RoleCarrier, CarrierID: x.carrier.ID, KeyPrefix: "test"}
	return must(x.svc.AnnounceDoorstep(x.ctx, cp, service.DoorstepAnnouncement{
		Parcel: parcelguard.Parcel{TrackingNumber: tracking, Size: parcelguard.SizeS,
			Recipient: parcelguard.Recipient{Name: "Ada", Phone: "+4915112345678", Language: "en"}},
		Address: "Arnulfstr. 1, 80335 München", Lat: 48.1425, Lon: 11.5530, TimeZone: "Europe/Berlin", Country: "DE",
		PasswordFlag: true}))(x.t)
}

// Ensure a doorstep recipient sees the address, the password on the
// delivery day (only then), can give a delegate their own password and
// withdraw it, and after a failed attempt sees why and the next date.
func TestRecipientDoorstep(t *testing.T) {
	x := newHarness(t)
	d := x.doorstep("PX-H1")
	b := x.browser()
	b.openLink(d.Parcel.ID)
	page := b.get("/parcel")
	if !strings.Contains(page.body, "Arnulfstr. 1") || strings.Contains(page.body, `id="door-password"`) {
		t.Fatalf("doorstep page before the day:\n%s", page.body)
	}
	must(x.svc.OutForDelivery(x.ctx, x.courier, d.Parcel.ID, 1))(t)
	a := must(x.svc.AuthenticateRecipient(x.ctx, must(x.svc.RecipientLink(x.ctx, d.Parcel.ID))(t)))(t)
	pw := must(x.svc.TrackDoorstep(x.ctx, a))(t).Password
	page = b.get("/parcel")
	if !regexp.MustCompile(`id="door-password"[^>]*>` + pw + `<`).MatchString(page.body) {
		t.Fatalf("the day's password %s is not on the page:\n%s", pw, page.body)
	}
	if !strings.Contains(page.body, "Monday, 23 November 2026") {
		t.Error("the delivery date is not spelled out")
	}
	res := b.post("/parcel", "/parcel/delegates", url.Values{"name": {"Charles"}})
	if res.header.Get("Location") != "/parcel?done=delegated" {
		t.Fatalf("doorstep delegate: %d %q", res.status, res.header.Get("Location"))
	}
	dv := must(x.svc.TrackDoorstep(x.ctx, a))(t).Delegates
	if len(dv) != 1 || dv[0].Code == "" {
		t.Fatalf("delegates %+v", dv)
	}
	page = b.get("/parcel")
	if !strings.Contains(page.body, "Charles") || !strings.Contains(page.body, dv[0].Code) {
		t.Fatal("the delegate's password is not shown to the recipient")
	}
	if res := b.post("/parcel", "/parcel/delegates/revoke", url.Values{"id": {dv[0].ID}}); res.header.Get("Location") != "/parcel?done=revoked" {
		t.Fatalf("revoke: %q", res.header.Get("Location"))
	}
	if st := must(x.svc.TrackDoorstep(x.ctx, a))(t).Delegates[0].State; st != parcelguard.GrantRevoked {
		t.Errorf("delegate password %s after revoke", st)
	}
	must(x.svc.FailAttempt(x.ctx, x.courier, d.Parcel.ID, parcelguard.ReasonNotAtHome, service.Position{Lat: 48.1425, Lon: 11.5530}))(t)
	page = b.get("/parcel")
	if !strings.Contains(page.body, `id="missed"`) || !strings.Contains(page.body, "nobody was at home") ||
		!strings.Contains(page.body, "Tuesday, 24 November 2026") {
		t.Fatalf("no reschedule shown:\n%s", page.body)
	}
	if strings.Contains(page.body, pw) {
		t.Error("the old password is still shown")
	}
	// German page: the same in German.
	b.lang = "de"
	if page := b.get("/parcel?lang=de"); !strings.Contains(page.body, "niemand war zu Hause") {
		t.Error("German page lacks the reason")
	}
}
