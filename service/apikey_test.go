package service_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure a verified key is trusted for AuthCacheTTL at most: revoked
// through this Service it fails at once; revoked by another instance on
// the same store it fails once AuthCacheTTL has passed; a wrong secret
// under a trusted prefix never passes.
func TestAuthenticateTrustsAKeyBriefly(t *testing.T) {
	f := newFixture(t)
	token, key, err := f.svc.CreateAPIKey(f.ctx, admin, service.NewAPIKeyInput{Role: parcelguard.RoleCourier,
		CarrierID: f.carrier.ID, Name: "van 7"})
	if err != nil {
		t.Fatal(err)
	}
	authenticate := func(svc *service.Service, token string) error {
		t.Helper()
		p, err := svc.Authenticate(f.ctx, token)
		if err == nil && (p.KeyPrefix != key.Prefix || p.Role != parcelguard.RoleCourier || p.CarrierID != f.carrier.ID) {
			t.Fatalf("principal %+v for key %s", p, key.Prefix)
		}
		return err
	}
	if err := authenticate(f.svc, token); err != nil {
		t.Fatal(err)
	}
	wrong := token[:len(token)-1] + "a"
	if wrong == token {
		wrong = token[:len(token)-1] + "b"
	}
	if err := authenticate(f.svc, wrong); !errors.Is(err, parcelguard.ErrUnauthorized) {
		t.Errorf("a wrong secret under a trusted prefix: %v, want ErrUnauthorized", err)
	}

	other := service.New(service.Config{Store: f.db, Clock: f.clock, Keys: f.keys})
	if _, err := other.RevokeAPIKey(f.ctx, admin, key.Prefix); err != nil {
		t.Fatal(err)
	}
	if err := authenticate(f.svc, token); err != nil {
		t.Fatalf("revoked on another instance, trusted for %v: %v", service.AuthCacheTTL, err)
	}
	f.clock.Advance(service.AuthCacheTTL)
	if err := authenticate(f.svc, token); !errors.Is(err, parcelguard.ErrUnauthorized) {
		t.Errorf("%v after a revocation elsewhere: %v, want ErrUnauthorized", service.AuthCacheTTL, err)
	}

	token2, key2, err := f.svc.CreateAPIKey(f.ctx, admin, service.NewAPIKeyInput{Role: parcelguard.RoleCourier,
		CarrierID: f.carrier.ID, Name: "van 8"})
	if err != nil {
		t.Fatal(err)
	}
	key = key2
	if err := authenticate(f.svc, token2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RevokeAPIKey(f.ctx, admin, key2.Prefix); err != nil {
		t.Fatal(err)
	}
	if err := authenticate(f.svc, token2); !errors.Is(err, parcelguard.ErrUnauthorized) {
		t.Errorf("the next request after a revocation here: %v, want ErrUnauthorized", err)
	}
	if strings.Contains(f.logs.String(), token2[len(key2.Prefix)+1:]) {
		t.Error("a key's secret reached the log")
	}
}
