package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard"
)

var generatedRE = regexp.MustCompile(`<code id="generated-password">([^<]+)</code>`)

// signInAs signs a fresh browser in to app with a known password.
func (x *harness) signInAs(app, username, password string) (*browser, int) {
	x.t.Helper()
	b := x.browser()
	res := b.post("/"+app+"/signin", "/"+app+"/signin", url.Values{"username": {username}, "password": {password}})
	return b, res.status
}

// Ensure the accounts page lists every account with its role and a
// courier's carrier, adds an account with a generated password shown
// once (and working) or a typed one, explains invalid and taken names at
// their fields, and offers operators neither the admin role nor buttons
// on admin accounts.
func TestConsoleAccountsCreate(t *testing.T) {
	x := newHarness(t)
	op := x.signedIn("console", "olga", parcelguard.RoleOperator)
	x.signedIn("console", "ada", parcelguard.RoleAdmin)
	res := op.get("/console/accounts")
	if res.status != http.StatusOK || !strings.Contains(res.body, "<th scope=\"row\">ada</th>") {
		t.Fatalf("accounts: %d\n%s", res.status, res.body)
	}
	if strings.Contains(res.body, `value="admin"`) || strings.Contains(res.body, "Disable the account ada") {
		t.Error("an operator is offered to manage admins")
	}
	if strings.Contains(res.body, "Disable the account olga") {
		t.Error("an operator is offered to disable their own account")
	}

	res = op.post("/console/accounts", "/console/accounts", url.Values{"username": {"Kurt"}, "name": {"Kurt K"},
		"role": {"courier"}, "carrier_id": {x.carrier.ID}})
	m := generatedRE.FindStringSubmatch(res.body)
	if res.status != http.StatusOK || m == nil || !strings.Contains(res.body, "The account kurt was added.") {
		t.Fatalf("create with a generated password: %d\n%s", res.status, res.body)
	}
	if len(m[1]) < 20 {
		t.Errorf("generated password %q is short", m[1])
	}
	list := op.get("/console/accounts").body
	if strings.Contains(list, m[1]) || !strings.Contains(list, "Fast Parcel") {
		t.Error("the generated password is shown again, or the courier's carrier is not")
	}
	if _, st := x.signInAs("courier", "kurt", m[1]); st != http.StatusSeeOther {
		t.Errorf("sign-in with the generated password: %d", st)
	}

	res = op.post("/console/accounts", "/console/accounts", url.Values{"username": {"otto"}, "role": {"operator"},
		"carrier_id": {x.carrier.ID}, "password": {testPassword}})
	if res.status != http.StatusOK || generatedRE.MatchString(res.body) {
		t.Fatalf("create with a typed password: %d", res.status)
	}
	if _, st := x.signInAs("console", "otto", testPassword); st != http.StatusSeeOther {
		t.Errorf("sign-in with the typed password: %d", st)
	}

	for name, tc := range map[string]struct {
		form   url.Values
		status int
		field  string
	}{
		"bad name":       {url.Values{"username": {"a b"}, "role": {"operator"}}, http.StatusUnprocessableEntity, "new-username"},
		"short password": {url.Values{"username": {"paul"}, "role": {"operator"}, "password": {"short"}}, http.StatusUnprocessableEntity, "new-password-input"},
		"no carrier":     {url.Values{"username": {"karl"}, "role": {"courier"}}, http.StatusUnprocessableEntity, "new-carrier"},
		"taken":          {url.Values{"username": {"OLGA"}, "role": {"operator"}}, http.StatusConflict, "new-username"},
		"admin":          {url.Values{"username": {"eve"}, "role": {"admin"}}, http.StatusForbidden, ""},
	} {
		res := op.post("/console/accounts", "/console/accounts", tc.form)
		if res.status != tc.status || generatedRE.MatchString(res.body) {
			t.Errorf("%s: %d, want %d", name, res.status, tc.status)
		}
		if tc.field != "" && !regexp.MustCompile(`id="`+tc.field+`"[^>]*aria-invalid="true"`).MatchString(res.body) {
			t.Errorf("%s: field %s not marked invalid", name, tc.field)
		}
		if tc.form.Get("username") == "paul" && !strings.Contains(res.body, `value="paul"`) {
			t.Errorf("%s: the form forgot what was typed", name)
		}
	}
	admin, _ := x.signInAs("console", "ada", testPassword)
	res = admin.post("/console/accounts", "/console/accounts", url.Values{"username": {"adam"}, "role": {"admin"}, "password": {testPassword}})
	if res.status != http.StatusOK {
		t.Errorf("admin adds an admin: %d", res.status)
	}
}

// Ensure disabling an account signs it out at once and refuses its
// sign-in, enabling lets it in again, nobody disables themselves,
// operators cannot disable admins, and every form needs its CSRF token.
func TestConsoleAccountsDisable(t *testing.T) {
	x := newHarness(t)
	op := x.signedIn("console", "olga", parcelguard.RoleOperator)
	cou := x.signedIn("courier", "kurt", parcelguard.RoleCourier)
	x.signedIn("console", "ada", parcelguard.RoleAdmin)
	id := func(username string) string {
		a := must(x.svc.Accounts(x.ctx, parcelguard.System, parcelguard.AccountFilter{}))(t)
		for _, acct := range a {
			if acct.Username == username {
				return acct.ID
			}
		}
		t.Fatalf("no account %s", username)
		return ""
	}
	if res := cou.get("/courier/"); res.status != http.StatusOK {
		t.Fatalf("courier app: %d", res.status)
	}
	res := op.post("/console/accounts", "/console/accounts/"+id("kurt")+"/disable", nil)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/accounts?done=disabled&user=kurt" {
		t.Fatalf("disable: %d %s", res.status, res.header.Get("Location"))
	}
	if res := op.get("/console/accounts?done=disabled&user=kurt"); !strings.Contains(res.body, "The account kurt is disabled") ||
		!strings.Contains(res.body, "Enable the account kurt") {
		t.Error("the list does not show the account disabled")
	}
	if res := cou.get("/courier/"); res.status != http.StatusSeeOther {
		t.Errorf("a disabled courier's session still works: %d", res.status)
	}
	if _, st := x.signInAs("courier", "kurt", testPassword); st != http.StatusUnauthorized {
		t.Errorf("a disabled courier signs in: %d", st)
	}
	op.post("/console/accounts", "/console/accounts/"+id("kurt")+"/enable", nil)
	if _, st := x.signInAs("courier", "kurt", testPassword); st != http.StatusSeeOther {
		t.Errorf("an enabled courier cannot sign in: %d", st)
	}
	for target, want := range map[string]string{
		"/console/accounts/" + id("olga") + "/disable": "/console/accounts?done=own",
		"/console/accounts/" + id("ada") + "/disable":  "/console/accounts?done=forbidden",
	} {
		res := op.post("/console/accounts", target, nil)
		if res.header.Get("Location") != want {
			t.Errorf("%s: %d %s, want %s", target, res.status, res.header.Get("Location"), want)
		}
	}
	if res := op.post("/console/accounts", "/console/accounts/acc_nope/disable", nil); res.status != http.StatusNotFound {
		t.Errorf("unknown account: %d", res.status)
	}
	for _, target := range []string{"/console/accounts", "/console/accounts/" + id("kurt") + "/disable"} {
		res := op.do(http.MethodPost, target, url.Values{"csrf": {"k.xyz"}, "username": {"zed"}, "role": {"operator"}})
		if res.status != http.StatusForbidden {
			t.Errorf("%s without a valid CSRF token: %d", target, res.status)
		}
	}
	if res := cou.get("/console/accounts"); res.status != http.StatusSeeOther {
		t.Errorf("a courier reaches the accounts page: %d", res.status)
	}
}
