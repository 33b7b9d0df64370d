package service_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure passwords hash to salted argon2id PHC strings that verify only
// the right password, and malformed or hostile hashes are refused.
func TestPasswordHash(t *testing.T) {
	h1 := must(service.HashPassword("correct horse battery"))(t)
	h2 := must(service.HashPassword("correct horse battery"))(t)
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=19456,t=2,p=1$") || h1 == h2 {
		t.Fatalf("hashes %q %q: want argon2id, salted", h1, h2)
	}
	if ok, err := service.VerifyPassword(h1, "correct horse battery"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, err := service.VerifyPassword(h1, "correct horse batterY"); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	salt, key := strings.Split(h1, "$")[4], strings.Split(h1, "$")[5]
	for name, bad := range map[string]string{
		"empty":       "",
		"bcrypt":      "$2a$10$abcdefghijklmnopqrstuu",
		"argon2i":     "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"old version": "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"huge memory": "$argon2id$v=19$m=99999999,t=2,p=1$" + salt + "$" + key,
		"many passes": "$argon2id$v=19$m=19456,t=1000,p=1$" + salt + "$" + key,
		"bad salt":    "$argon2id$v=19$m=19456,t=2,p=1$!!!$" + key,
		"short key":   "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$AAAA",
		"extra part":  h1 + "$x",
	} {
		if ok, err := service.VerifyPassword(bad, "correct horse battery"); ok || err == nil {
			t.Errorf("%s: accepted (%v, %v)", name, ok, err)
		}
	}
}

func (f *fixture) account(username, password string, role parcelguard.Role, carrierID string) *parcelguard.Account {
	f.t.Helper()
	return must(f.svc.CreateAccount(f.ctx, parcelguard.System, service.NewAccountInput{Username: username, Password: password,
		Role: role, CarrierID: carrierID}))(f.t)
}

// Ensure accounts are validated and only admins create them.
func TestCreateAccount(t *testing.T) {
	f := newFixture(t, "S")
	f.account("Olga", "a long enough password", parcelguard.RoleOperator, "")
	for name, in := range map[string]service.NewAccountInput{
		"short password":      {Username: "ann", Password: "short", Role: parcelguard.RoleOperator},
		"bad name":            {Username: "a b", Password: "a long enough password", Role: parcelguard.RoleOperator},
		"courier, no carrier": {Username: "kurt", Password: "a long enough password", Role: parcelguard.RoleCourier},
		"operator w/ carrier": {Username: "otto", Password: "a long enough password", Role: parcelguard.RoleOperator, CarrierID: f.carrier.ID},
		"kiosk role":          {Username: "kiki", Password: "a long enough password", Role: parcelguard.RoleKiosk},
		"taken (case-folded)": {Username: "OLGA", Password: "a long enough password", Role: parcelguard.RoleOperator},
		"unknown carrier":     {Username: "karl", Password: "a long enough password", Role: parcelguard.RoleCourier, CarrierID: "car_nope"},
	} {
		if _, err := f.svc.CreateAccount(f.ctx, parcelguard.System, in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := f.svc.CreateAccount(f.ctx, f.operator, service.NewAccountInput{Username: "eve", Password: "a long enough password",
		Role: parcelguard.RoleAdmin}); !errors.Is(err, parcelguard.ErrForbidden) {
		t.Errorf("operator created an account: %v", err)
	}
}

// Ensure sign-in succeeds only with the right password for the right app,
// every failure looks the same, and a name over its budget is throttled
// (before its password is even checked) until the delay passes.
func TestSignIn(t *testing.T) {
	f := newFixture(t, "S")
	f.account("olga", "a long enough password", parcelguard.RoleOperator, "")
	f.account("kurt", "another long password", parcelguard.RoleCourier, f.carrier.ID)
	console := []parcelguard.Role{parcelguard.RoleOperator, parcelguard.RoleAdmin}
	tok, who, err := f.svc.SignIn(f.ctx, " Olga ", "a long enough password", console...)
	if err != nil || !strings.HasPrefix(tok, "pgs_") || who.Principal.Role != parcelguard.RoleOperator {
		t.Fatalf("sign in: %q %+v %v", tok, who, err)
	}
	for name, try := range map[string][2]string{
		"wrong password": {"olga", "a long enough passworD"},
		"unknown name":   {"nobody", "a long enough password"},
		"wrong app":      {"kurt", "another long password"},
		"empty":          {"", ""},
	} {
		if _, _, err := f.svc.SignIn(f.ctx, try[0], try[1], console...); !errors.Is(err, parcelguard.ErrUnauthorized) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// "olga" has one failure; four more use up the free budget, the next
	// is blocked even with the right password.
	for range parcelguard.SignInFreeFailures {
		f.svc.SignIn(f.ctx, "olga", "guess", console...)
	}
	if _, _, err := f.svc.SignIn(f.ctx, "olga", "a long enough password", console...); !errors.Is(err, parcelguard.ErrThrottled) {
		t.Fatalf("over budget: %v", err)
	}
	f.clock.Advance(parcelguard.SignInBaseDelay)
	if _, _, err := f.svc.SignIn(f.ctx, "olga", "a long enough password", console...); err != nil {
		t.Fatalf("after the delay: %v", err)
	}
	// Success reset the budget: one more failure is not blocked.
	f.svc.SignIn(f.ctx, "olga", "guess", console...)
	if _, _, err := f.svc.SignIn(f.ctx, "olga", "a long enough password", console...); err != nil {
		t.Fatalf("budget not reset: %v", err)
	}
}

// Ensure a session ends after the idle timeout, after its absolute
// lifetime however busy, and at sign-out; and that tokens are not guessable
// from one another.
func TestSessionLifetime(t *testing.T) {
	f := newFixture(t, "S")
	f.account("olga", "a long enough password", parcelguard.RoleOperator, "")
	signIn := func() string {
		tok, _, err := f.svc.SignIn(f.ctx, "olga", "a long enough password")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	idle := signIn()
	f.clock.Advance(parcelguard.SessionIdle - time.Minute)
	if _, err := f.svc.Session(f.ctx, idle); err != nil {
		t.Fatalf("within idle timeout: %v", err)
	}
	f.clock.Advance(parcelguard.SessionIdle)
	if _, err := f.svc.Session(f.ctx, idle); !errors.Is(err, parcelguard.ErrUnauthorized) {
		t.Fatalf("idle session still valid: %v", err)
	}
	busy := signIn()
	for elapsed := time.Duration(0); elapsed < parcelguard.SessionLifetime-20*time.Minute; elapsed += 20 * time.Minute {
		f.clock.Advance(20 * time.Minute)
		if _, err := f.svc.Session(f.ctx, busy); err != nil {
			t.Fatalf("busy session ended after %v: %v", elapsed, err)
		}
	}
	f.clock.Advance(20 * time.Minute)
	if _, err := f.svc.Session(f.ctx, busy); !errors.Is(err, parcelguard.ErrUnauthorized) {
		t.Fatalf("session outlived its lifetime: %v", err)
	}
	out := signIn()
	if err := f.svc.SignOut(f.ctx, out); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Session(f.ctx, out); !errors.Is(err, parcelguard.ErrUnauthorized) {
		t.Fatalf("signed-out session valid: %v", err)
	}
	for _, bad := range []string{"", "pgs_", out + "x", "pgk_" + out[4:], strings.Repeat("a", 500)} {
		if _, err := f.svc.Session(f.ctx, bad); !errors.Is(err, parcelguard.ErrUnauthorized) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	if n, err := f.svc.PurgeSessions(f.ctx); err != nil || n < 1 {
		t.Errorf("purged %d sessions: %v", n, err)
	}
}

// Ensure operators manage operators and couriers but only admins manage
// admins; disabling ends the account's sessions at once and refuses its
// sign-ins until it is enabled again; nobody disables their own account;
// and each change is audited once.
func TestManageAccounts(t *testing.T) {
	f := newFixture(t, "S")
	const pw = "a long enough password"
	olga := f.account("olga", pw, parcelguard.RoleOperator, "")
	ada := f.account("ada", pw, parcelguard.RoleAdmin, "")
	op := olga.Principal()
	kurt := must(f.svc.CreateAccount(f.ctx, op, service.NewAccountInput{Username: "kurt", Password: pw,
		Role: parcelguard.RoleCourier, CarrierID: f.carrier.ID}))(t)
	must(f.svc.CreateAccount(f.ctx, op, service.NewAccountInput{Username: "otto", Password: pw, Role: parcelguard.RoleOperator}))(t)
	if _, err := f.svc.CreateAccount(f.ctx, op, service.NewAccountInput{Username: "eve", Password: pw,
		Role: parcelguard.RoleAdmin}); !errors.Is(err, parcelguard.ErrForbidden) {
		t.Errorf("operator created an admin: %v", err)
	}
	must(f.svc.CreateAccount(f.ctx, ada.Principal(), service.NewAccountInput{Username: "adam", Password: pw, Role: parcelguard.RoleAdmin}))(t)
	if _, err := f.svc.CreateAccount(f.ctx, f.courier, service.NewAccountInput{Username: "kim", Password: pw,
		Role: parcelguard.RoleCourier, CarrierID: f.carrier.ID}); !errors.Is(err, parcelguard.ErrForbidden) {
		t.Errorf("courier created an account: %v", err)
	}

	all := must(f.svc.Accounts(f.ctx, op, parcelguard.AccountFilter{}))(t)
	var names []string
	for _, a := range all {
		names = append(names, a.Username)
	}
	if strings.Join(names, ",") != "ada,adam,kurt,olga,otto" {
		t.Errorf("accounts: %v", names)
	}
	couriers := must(f.svc.Accounts(f.ctx, op, parcelguard.AccountFilter{Role: parcelguard.RoleCourier}))(t)
	if len(couriers) != 1 || couriers[0].CarrierID != f.carrier.ID {
		t.Errorf("couriers: %+v", couriers)
	}
	if _, err := f.svc.Accounts(f.ctx, f.courier, parcelguard.AccountFilter{}); !errors.Is(err, parcelguard.ErrForbidden) {
		t.Errorf("a courier listed accounts: %v", err)
	}

	courierApp := []parcelguard.Role{parcelguard.RoleCourier}
	signIn := func() string {
		t.Helper()
		tok, _, err := f.svc.SignIn(f.ctx, "kurt", pw, courierApp...)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tok1, tok2 := signIn(), signIn()
	got := must(f.svc.SetAccountDisabled(f.ctx, op, kurt.ID, true))(t)
	if !got.Disabled() || !got.DisabledAt.Equal(f.clock.Now()) {
		t.Fatalf("disabled: %+v", got)
	}
	for _, tok := range []string{tok1, tok2} {
		if _, err := f.svc.Session(f.ctx, tok); !errors.Is(err, parcelguard.ErrUnauthorized) {
			t.Errorf("session of a disabled account: %v", err)
		}
	}
	if _, _, err := f.svc.SignIn(f.ctx, "kurt", pw, courierApp...); !errors.Is(err, parcelguard.ErrUnauthorized) {
		t.Errorf("disabled account signed in: %v", err)
	}
	must(f.svc.SetAccountDisabled(f.ctx, op, kurt.ID, true))(t) // again: no change, no event
	must(f.svc.SetAccountDisabled(f.ctx, op, kurt.ID, false))(t)
	if _, _, err := f.svc.SignIn(f.ctx, "kurt", pw, courierApp...); err != nil {
		t.Errorf("enabled account cannot sign in: %v", err)
	}
	if _, err := f.svc.Session(f.ctx, tok1); !errors.Is(err, parcelguard.ErrUnauthorized) {
		t.Errorf("a session ended by disabling came back: %v", err)
	}

	if _, err := f.svc.SetAccountDisabled(f.ctx, op, ada.ID, true); !errors.Is(err, parcelguard.ErrForbidden) {
		t.Errorf("operator disabled an admin: %v", err)
	}
	if _, err := f.svc.SetAccountDisabled(f.ctx, op, olga.ID, true); !errors.Is(err, service.ErrOwnAccount) {
		t.Errorf("operator disabled themselves: %v", err)
	}
	if _, err := f.svc.SetAccountDisabled(f.ctx, op, "acc_none", true); !errors.Is(err, parcelguard.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	must(f.svc.SetAccountDisabled(f.ctx, ada.Principal(), olga.ID, true))(t)

	var kinds []string
	err := f.db.View(f.ctx, func(tx parcelguard.Tx) error {
		events, err := tx.Events(f.ctx, parcelguard.EventFilter{Limit: 10000})
		for _, e := range events {
			if e.Kind == service.EventAccountDisabled || e.Kind == service.EventAccountEnabled {
				kinds = append(kinds, string(e.Kind)+":"+e.Data["username"]+":"+e.Data["sessions_ended"])
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "account.disabled:kurt:2,account.enabled:kurt:,account.disabled:olga:0"; strings.Join(kinds, ",") != want {
		t.Errorf("audit: %v, want %s", kinds, want)
	}
}
