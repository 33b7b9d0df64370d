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
