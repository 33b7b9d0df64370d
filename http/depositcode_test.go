package http_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/parcelguard/parcelguard"
	pghttp "github.com/parcelguard/parcelguard/http"
)

// Ensure a courier gets a one-time deposit code for a reserved parcel at a
// site with a locker agent, that asking again gives a new code, and that
// the answer is never replayed from the idempotency store (which would
// keep the code in the database).
func TestDepositCode(t *testing.T) {
	e := newEnv(t)
	w := newWorld(e)
	x := w.announce(e, "PG-DCODE-1")

	// Not reserved yet: refused.
	mustProblem(t, e.do("POST", "/v1/parcels/"+x.ID+"/deposit-code", w.courier, nil), 409, "conflict")
	e.must(200, "POST", "/v1/parcels/"+x.ID+"/reserve", w.courier, nil)
	// Reserved, but the site has no locker agent: the field says why.
	mustProblem(t, e.do("POST", "/v1/parcels/"+x.ID+"/deposit-code", w.courier, nil), 422, "invalid")

	if _, err := e.svc.ProvisionLocker(context.Background(), parcelguard.System, w.site.ID, "locker-dcode", "x"); err != nil {
		t.Fatal(err)
	}
	var first pghttp.DepositCode
	r := e.doKey("/v1/parcels/"+x.ID+"/deposit-code", w.courier, "dcode-key-1", nil)
	if r.status != 200 {
		t.Fatalf("deposit code: %d %s", r.status, r.body)
	}
	r.decode(t, &first)
	if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(first.Code) || first.ExpiresAt.IsZero() {
		t.Fatalf("deposit code %+v", first)
	}
	// The same key again: the code is not kept for a replay.
	mustProblem(t, e.doKey("/v1/parcels/"+x.ID+"/deposit-code", w.courier, "dcode-key-1", nil), 409, "not_replayable")

	var second pghttp.DepositCode
	e.must(200, "POST", "/v1/parcels/"+x.ID+"/deposit-code", w.courier, nil).decode(t, &second)
	grants := 0
	err := e.store.View(context.Background(), func(tx parcelguard.Tx) error {
		gs, err := tx.GrantsOfParcel(context.Background(), x.ID)
		for _, g := range gs {
			if g.Purpose == parcelguard.PurposeDeposit && g.State == parcelguard.GrantActive {
				grants++
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if grants != 1 {
		t.Fatalf("%d active deposit grants after asking twice, want 1", grants)
	}
	// A kiosk key may not ask.
	mustProblem(t, e.do("POST", "/v1/parcels/"+x.ID+"/deposit-code", w.kiosk, nil), 403, "forbidden")
}
