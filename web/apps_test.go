package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

const testPassword = "a long enough password"

// signedIn returns a browser signed in to app as a new account of role.
func (x *harness) signedIn(app, username string, role parcelguard.Role) *browser {
	x.t.Helper()
	in := service.NewAccountInput{Username: username, Password: testPassword, Role: role}
	if role == parcelguard.RoleCourier {
		in.CarrierID = x.carrier.ID
	}
	must(x.svc.CreateAccount(x.ctx, parcelguard.System, in))(x.t)
	b := x.browser()
	res := b.post("/"+app+"/signin", "/"+app+"/signin", url.Values{"username": {username}, "password": {testPassword}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/"+app+"/" {
		x.t.Fatalf("sign in to %s: %d %s", app, res.status, res.body)
	}
	return b
}

// Ensure sign-in sets a fresh HttpOnly, Secure, SameSite=Strict session
// cookie, a wrong password or the wrong app fails alike, a planted session
// token is replaced (no fixation), sign-out ends the session on the server,
// and a form token from before sign-in or sign-out no longer works.
func TestConsoleSignIn(t *testing.T) {
	x := newHarness(t)
	if res := x.browser().get("/console/"); res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/signin" {
		t.Fatalf("anonymous console: %d %s", res.status, res.header.Get("Location"))
	}
	b := x.signedIn("console", "olga", parcelguard.RoleOperator)
	x.signedIn("courier", "kurt", parcelguard.RoleCourier)
	for name, form := range map[string]url.Values{
		"wrong password": {"username": {"olga"}, "password": {"wrong password!!"}},
		"courier":        {"username": {"kurt"}, "password": {testPassword}},
	} {
		res := x.browser().post("/console/signin", "/console/signin", form)
		if res.status != http.StatusUnauthorized || !strings.Contains(res.body, "Wrong user name or password.") {
			t.Errorf("%s: %d", name, res.status)
		}
	}
	if res := b.get("/console/"); res.status != 200 || !strings.Contains(res.body, "Main Station") {
		t.Fatalf("overview: %d", res.status)
	}
	// Fixation: a browser arriving with a session token keeps none of it.
	planted := x.browser()
	planted.cookies[sessionCookie] = b.cookies[sessionCookie]
	res := planted.post("/console/audit", "/console/signin", url.Values{"username": {"olga"}, "password": {testPassword}})
	if res.status != http.StatusSeeOther || planted.cookies[sessionCookie] == b.cookies[sessionCookie] {
		t.Fatalf("sign-in kept the planted session token")
	}
	if res := b.get("/console/"); res.status != http.StatusSeeOther {
		t.Errorf("the replaced session still works: %d", res.status)
	}
	// Sign-out: the token is dead on the server, not just forgotten.
	token := planted.cookies[sessionCookie]
	before := csrfOf(t, planted.get("/console/").body)
	if res := planted.post("/console/", "/console/signout", nil); res.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", res.status)
	}
	if _, err := x.svc.Session(x.ctx, token); err == nil {
		t.Error("session valid after sign-out")
	}
	again := x.browser()
	again.cookies[sessionCookie] = token
	if res := again.get("/console/"); res.status != http.StatusSeeOther {
		t.Errorf("signed-out token opens the console: %d", res.status)
	}
	// A form token from the old session fails once signed out.
	if res := planted.do(http.MethodPost, "/console/signin", url.Values{"csrf": {before}, "username": {"olga"}, "password": {testPassword}}); res.status != http.StatusForbidden {
		t.Errorf("old CSRF token accepted: %d", res.status)
	}
}

// Ensure every state-changing console form refuses a missing or foreign
// CSRF token, and a cross-origin browser request before any handler runs.
func TestConsoleCSRF(t *testing.T) {
	x := newHarness(t)
	b := x.signedIn("console", "olga", parcelguard.RoleOperator)
	other := x.signedIn("console", "otto", parcelguard.RoleOperator)
	cs := must(x.svc.Compartments(x.ctx, parcelguard.System, x.site.ID))(t)
	target := "/console/compartments/" + cs[0].ID + "/state"
	foreign := csrfOf(t, other.get("/console/audit").body)
	for name, token := range map[string]string{"missing": "", "foreign": foreign, "garbage": "k.xyz"} {
		res := b.do(http.MethodPost, target, url.Values{"csrf": {token}, "state": {"blocked"}})
		if res.status != http.StatusForbidden {
			t.Errorf("%s token: %d", name, res.status)
		}
	}
	r := url.Values{"csrf": {csrfOf(t, b.get("/console/audit").body)}, "state": {"blocked"}}
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(r.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	w := newRecorder()
	x.mux.ServeHTTP(w, req)
	if w.Code != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", w.Code)
	}
	if c := must(x.svc.Compartments(x.ctx, parcelguard.System, x.site.ID))(t)[0]; c.State != parcelguard.CompartmentFree {
		t.Fatalf("compartment changed by a refused request: %s", c.State)
	}
	if res := b.post("/console/sites/"+x.site.ID, target, url.Values{"state": {"blocked"}, "site": {x.site.ID}}); res.status != http.StatusSeeOther {
		t.Fatalf("block with a good token: %d", res.status)
	}
	if c := must(x.svc.Compartments(x.ctx, parcelguard.System, x.site.ID))(t)[0]; c.State != parcelguard.CompartmentBlocked {
		t.Fatalf("compartment not blocked: %s", c.State)
	}
}

// Ensure every console page renders (and, through the browser helper,
// parses as sound HTML with labelled controls) and the chain verifies.
func TestConsolePages(t *testing.T) {
	x := newHarness(t)
	p := x.parcel("PX-10", 2)
	b := x.signedIn("console", "olga", parcelguard.RoleAdmin)
	for _, path := range []string{"/console/", "/console/sites/" + x.site.ID, "/console/parcels", "/console/parcels?tracking=PX-10",
		"/console/parcels?state=deposited", "/console/parcels/" + p.ID, "/console/returns", "/console/audit", "/console/mailbox"} {
		if res := b.get(path); res.status != 200 || res.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d", path, res.status)
		}
	}
	if res := b.get("/console/parcels/nope"); res.status != http.StatusNotFound {
		t.Errorf("unknown parcel: %d", res.status)
	}
	res := b.post("/console/audit", "/console/audit/verify", nil)
	if res.status != 200 || !strings.Contains(res.body, "are intact") {
		t.Fatalf("verify: %d", res.status)
	}
}

// Ensure a courier finds a parcel, opens a compartment, deposits, and
// collects an expired parcel; a wrong tracking number is refused clearly,
// and another carrier's parcel stays invisible.
func TestCourierFlow(t *testing.T) {
	x := newHarness(t)
	p := x.parcel("PX-20", 0)
	b := x.signedIn("courier", "kurt", parcelguard.RoleCourier)
	if res := b.get("/courier/"); res.status != 200 || !strings.Contains(res.body, "PX-20") {
		t.Fatalf("today: %d", res.status)
	}
	if res := b.get("/courier/find?tracking=PX-99"); res.status != http.StatusNotFound || !strings.Contains(res.body, `role="alert"`) {
		t.Fatalf("wrong tracking number: %d", res.status)
	}
	res := b.get("/courier/find?tracking=PX-20")
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/courier/parcels/"+p.ID {
		t.Fatalf("find: %d %s", res.status, res.header.Get("Location"))
	}
	page := "/courier/parcels/" + p.ID
	if res := b.post(page, page+"/reserve", nil); res.status != http.StatusSeeOther {
		t.Fatalf("reserve: %d", res.status)
	}
	if res := b.get(page); !strings.Contains(res.body, `id="compartment"`) || !strings.Contains(res.body, `id="deposit"`) {
		t.Fatalf("no compartment shown:\n%s", res.body)
	}
	if res := b.post(page, page+"/deposit", nil); res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/courier/?done=deposited") {
		t.Fatalf("deposit: %d %s", res.status, res.header.Get("Location"))
	}
	if got := must(x.svc.Parcel(x.ctx, x.courier, p.ID))(t); got.State != parcelguard.ParcelDeposited {
		t.Fatalf("state %s", got.State)
	}
	// Replaying the deposit form changes nothing and says why.
	if res := b.post(page, page+"/deposit", nil); res.header.Get("Location") != page+"?problem=state" {
		t.Errorf("replayed deposit: %d %s", res.status, res.header.Get("Location"))
	}
	// Expire it; the courier collects it for return.
	x.clock.Advance(parcelguard.DefaultStoragePeriod + 1)
	must(x.svc.FireDueTimers(x.ctx))(t)
	if res := b.get("/courier/"); res.header.Get("Location") != "/courier/signin" {
		t.Fatalf("session outlived three idle days: %d", res.status)
	}
	b.post("/courier/signin", "/courier/signin", url.Values{"username": {"kurt"}, "password": {testPassword}})
	if res := b.get("/courier/"); !strings.Contains(res.body, "To collect for return: 1") {
		t.Fatalf("return not listed:\n%s", res.body)
	}
	if res := b.post(page, page+"/collect", nil); res.status != http.StatusSeeOther {
		t.Fatalf("collect: %d", res.status)
	}
	if got := must(x.svc.Parcel(x.ctx, x.courier, p.ID))(t); got.State != parcelguard.ParcelCollected {
		t.Fatalf("state after collect %s", got.State)
	}
	// Another carrier's courier sees nothing of it.
	other := must(x.svc.CreateCarrier(x.ctx, parcelguard.System, parcelguard.Carrier{Name: "Other"}))(t)
	must(x.svc.CreateAccount(x.ctx, parcelguard.System, service.NewAccountInput{Username: "olaf", Password: testPassword,
		Role: parcelguard.RoleCourier, CarrierID: other.ID}))(t)
	ob := x.browser()
	ob.post("/courier/signin", "/courier/signin", url.Values{"username": {"olaf"}, "password": {testPassword}})
	if res := ob.get(page); res.status != http.StatusNotFound {
		t.Errorf("other carrier's courier sees the parcel: %d", res.status)
	}
}
