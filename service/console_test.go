package service_test

import (
	"errors"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure the console's reads answer operators and admins only, refuse an
// unknown site, and return what the console shows: a locker's outage
// state, its latest audit events newest first, and the doorstep addresses
// where handovers fail, most failures first.
func TestConsoleReads(t *testing.T) {
	f := newFixture(t, "S")
	f.deposited("PX-C1")
	for _, p := range []parcelguard.Principal{f.courier, f.carrierP, f.kiosk, {}} {
		_, err1 := f.svc.LockerStatus(f.ctx, p, f.site.ID)
		_, err2 := f.svc.SiteEvents(f.ctx, p, f.site.ID, 10)
		_, err3 := f.svc.DoorHotspots(f.ctx, p)
		_, err4 := f.svc.VerifyAudit(f.ctx, p)
		for i, err := range []error{err1, err2, err3, err4} {
			if !errors.Is(err, parcelguard.ErrForbidden) && !errors.Is(err, parcelguard.ErrUnauthorized) {
				t.Errorf("%s read %d: %v", p.Role, i+1, err)
			}
		}
	}
	if _, err := f.svc.LockerStatus(f.ctx, f.operator, "site_none"); !errors.Is(err, parcelguard.ErrNotFound) {
		t.Errorf("status of an unknown site: %v", err)
	}
	if _, err := f.svc.SiteEvents(f.ctx, f.operator, "site_none", 10); !errors.Is(err, parcelguard.ErrNotFound) {
		t.Errorf("events of an unknown site: %v", err)
	}

	st := must(f.svc.LockerStatus(f.ctx, f.operator, f.site.ID))(t)
	if st.OutOfService {
		t.Fatalf("new site out of service: %+v", st)
	}
	if err := f.svc.SetSiteOutOfService(f.ctx, f.operator, f.site.ID, true, "flooded"); err != nil {
		t.Fatal(err)
	}
	st = must(f.svc.LockerStatus(f.ctx, admin, f.site.ID))(t)
	if !st.OutOfService || st.OutOfServiceNote != "flooded" {
		t.Errorf("status after taking it out: %+v", st)
	}

	all := must(f.svc.SiteEvents(f.ctx, f.operator, f.site.ID, 0))(t)
	if len(all) < 3 || all[0].Kind != parcelguard.EventSiteOutOfService {
		t.Fatalf("site events: %d, newest %v", len(all), all[0].Kind)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq >= all[i-1].Seq {
			t.Fatalf("site events not newest first at %d", i)
		}
	}
	two := must(f.svc.SiteEvents(f.ctx, f.operator, f.site.ID, 2))(t)
	if len(two) != 2 || two[0].Seq != all[0].Seq || two[1].Seq != all[1].Seq {
		t.Errorf("the 2 latest events: %+v", two)
	}

	// Two wrong passwords at one door, one failed attempt at another.
	a := f.doorstep("PX-D1", true)
	must(f.svc.OutForDelivery(f.ctx, f.courier, a.Parcel.ID, 1))(t)
	pw := f.password(a.Parcel.ID)
	for range 2 {
		if _, err := f.svc.VerifyDoorstep(f.ctx, f.courier, a.Parcel.ID, other(pw), service.Position{Lat: door.Lat, Lon: door.Lon}); err == nil {
			t.Fatal("a wrong password verified")
		}
	}
	b := must(f.svc.AnnounceDoorstep(f.ctx, f.carrierP, service.DoorstepAnnouncement{
		Parcel: parcelguard.Parcel{TrackingNumber: "PX-D2", Size: parcelguard.SizeS,
			Recipient: parcelguard.Recipient{Name: "Bo", Phone: "+4915112345679", Language: "de"}},
		Address: "Bayerstr. 2, 80335 München", Lat: door.Lat + 0.001, Lon: door.Lon, TimeZone: "Europe/Berlin", Country: "DE"}))(t)
	must(f.svc.OutForDelivery(f.ctx, f.courier, b.Parcel.ID, 2))(t)
	must(f.svc.FailAttempt(f.ctx, f.courier, b.Parcel.ID, parcelguard.ReasonRefused, service.Position{Lat: door.Lat + 0.001, Lon: door.Lon}))(t)
	hs := must(f.svc.DoorHotspots(f.ctx, f.operator))(t)
	want := []service.DoorHotspot{{Address: a.Doorstep.Address, Failures: 2}, {Address: "Bayerstr. 2, 80335 München", Failures: 1}}
	if len(hs) != 2 || hs[0] != want[0] || hs[1] != want[1] {
		t.Errorf("door hotspots %+v, want %+v", hs, want)
	}

	rep := must(f.svc.VerifyAudit(f.ctx, f.operator))(t)
	if !rep.OK() || rep.Events == 0 {
		t.Errorf("audit report: %+v", rep)
	}
}
