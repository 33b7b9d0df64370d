package service_test

import (
	"slices"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// manifestIDs returns the parcel ids of the courier manifest's deposits
// and returns at the environment's locker.
func (e *dsEnv) manifestIDs() (deposits, returns []string) {
	e.t.Helper()
	m := must(e.svc.CourierManifest(e.ctx, e.courier))(e.t)
	for _, st := range m.Lockers {
		if st.Site.ID != e.site.ID {
			e.t.Fatalf("manifest stop at %s", st.Site.ID)
		}
		for _, x := range st.Deposits {
			deposits = append(deposits, x.ID)
		}
		for _, x := range st.Returns {
			returns = append(returns, x.ID)
		}
	}
	return deposits, returns
}

// Ensure a doorstep parcel redirected to a locker after its last attempt
// is on the courier manifest as a deposit at that locker (and no longer a
// doorstep stop), leaves it once deposited, and comes back as a return
// when it expires there uncollected.
func TestCourierManifestDoorstepRedirect(t *testing.T) {
	doorstepEngines(t, []parcelguard.SizeClass{parcelguard.SizeS}, func(t *testing.T, e *dsEnv) {
		e.setPolicy(1, parcelguard.FallbackLocker)
		x := e.announce("MR-1001", "Europe/Berlin", "DE")
		id := x.Parcel.ID
		must(e.svc.OutForDelivery(e.ctx, e.courier, id, 0))(t)
		if deps, _ := e.manifestIDs(); len(deps) != 0 {
			t.Fatalf("deposits while out for delivery: %v", deps)
		}
		got := must(e.svc.FailAttempt(e.ctx, e.courier, id, parcelguard.ReasonNotAtHome, door))(t)
		if got.Parcel.State != parcelguard.ParcelRedirectedToLocker {
			t.Fatalf("state %s", got.Parcel.State)
		}
		m := must(e.svc.CourierManifest(e.ctx, e.courier))(t)
		for _, st := range m.Doorstep {
			if st.Parcel.ID == id {
				t.Fatal("the redirected parcel is still a doorstep stop")
			}
		}
		if deps, _ := e.manifestIDs(); !slices.Equal(deps, []string{id}) {
			t.Fatalf("deposits %v, want the redirected parcel", deps)
		}
		// Another carrier's courier does not see it.
		other := e.courier
		other.CarrierID = "car_other"
		for _, st := range must(e.svc.CourierManifest(e.ctx, other))(t).Lockers {
			if len(st.Deposits) > 0 {
				t.Fatalf("another carrier's manifest lists %v", st.Deposits)
			}
		}

		dep := must(e.svc.Deposit(e.ctx, e.courier, id))(t)
		if deps, rets := e.manifestIDs(); len(deps)+len(rets) != 0 {
			t.Fatalf("after the deposit: deposits %v, returns %v", deps, rets)
		}
		e.clock.Set(dep.Deadline.Add(time.Minute))
		e.fire()
		if _, rets := e.manifestIDs(); !slices.Equal(rets, []string{id}) {
			t.Fatalf("returns %v, want the expired parcel", rets)
		}
	})
}
