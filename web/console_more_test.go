package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure an operator can take a locker out of service with a note, sees
// the state, and can put it back; each change is in the locker's audit
// log, whose chain verifies.
func TestConsoleOutageAndSiteAudit(t *testing.T) {
	x := newHarness(t)
	x.parcel("PX-O1", 2)
	b := x.signedIn("console", "olga", parcelguard.RoleOperator)
	page := "/console/sites/" + x.site.ID
	if res := b.get(page); !strings.Contains(res.body, "In service.") || !strings.Contains(res.body, `id="service-note"`) {
		t.Fatalf("site page without its service state:\n%s", res.body)
	}
	res := b.post(page, page+"/service", url.Values{"out": {"true"}, "note": {"glass broken"}})
	if res.header.Get("Location") != page+"?done=out" {
		t.Fatalf("take out: %d %q", res.status, res.header.Get("Location"))
	}
	if res := b.get(page); !strings.Contains(res.body, "Out of service") || !strings.Contains(res.body, "glass broken") {
		t.Fatalf("out-of-service state not shown:\n%s", res.body)
	}
	if res := b.post(page, page+"/service", url.Values{"out": {"true"}, "note": {strings.Repeat("x", 501)}}); res.header.Get("Location") != page+"?done=note" {
		t.Errorf("long note: %q", res.header.Get("Location"))
	}
	if res := b.post(page, page+"/service", url.Values{"out": {"false"}}); res.header.Get("Location") != page+"?done=in" {
		t.Fatalf("back in service: %q", res.header.Get("Location"))
	}
	if res := b.get(page); !strings.Contains(res.body, "In service.") {
		t.Error("back in service not shown")
	}
	audit := b.get(page + "/audit")
	for _, want := range []string{"site.out_of_service", "site.back_in_service", "note=glass broken", "parcel.deposited", `id="verify-site"`} {
		if !strings.Contains(audit.body, want) {
			t.Errorf("site audit log lacks %q", want)
		}
	}
	if strings.Index(audit.body, "site.back_in_service") > strings.Index(audit.body, "site.out_of_service") {
		t.Error("audit log not newest first")
	}
	res = b.post(page+"/audit", page+"/audit/verify", nil)
	if res.status != 200 || !strings.Contains(res.body, "chain is intact") {
		t.Fatalf("verify: %d\n%s", res.status, res.body)
	}
	if res := b.get("/console/sites/nope/audit"); res.status != 404 {
		t.Errorf("unknown site audit: %d", res.status)
	}
	// Couriers have no console.
	c := x.signedIn("courier", "kurt", parcelguard.RoleCourier)
	if res := c.get(page + "/audit"); res.header.Get("Location") != "/console/signin" {
		t.Errorf("courier reaches the console: %d", res.status)
	}
}

// Ensure the hotspot page counts wrong pickup codes per locker and
// doorstep failures per address, most first.
func TestConsoleHotspots(t *testing.T) {
	x := newHarness(t)
	x.parcel("PX-S1", 2)
	kiosk := parcelguard.Principal{Role: parcelguard.RoleKiosk, SiteID: x.site.ID, KeyPrefix: "kiosk"}
	for range 3 {
		if _, err := x.svc.Pickup(x.ctx, kiosk, x.site.ID, "000000", "0000"); err == nil {
			t.Fatal("a wrong code opened a compartment")
		}
	}
	d := x.doorstep("PX-S2")
	must(x.svc.OutForDelivery(x.ctx, x.courier, d.Parcel.ID, 1))(t)
	must(x.svc.FailAttempt(x.ctx, x.courier, d.Parcel.ID, parcelguard.ReasonRefused, service.Position{Lat: 48.1425, Lon: 11.5530}))(t)
	b := x.signedIn("console", "olga", parcelguard.RoleOperator)
	res := b.get("/console/hotspots")
	locker := res.body[strings.Index(res.body, `id="locker-hotspots"`):strings.Index(res.body, `id="door-hotspots"`)]
	if !strings.Contains(locker, "Main Station") || !strings.Contains(locker, "<td>3</td>") {
		t.Errorf("locker hotspots:\n%s", locker)
	}
	door := res.body[strings.Index(res.body, `id="door-hotspots"`):]
	if !strings.Contains(door, "Arnulfstr. 1") || !strings.Contains(door, "<td>1</td>") {
		t.Errorf("door hotspots:\n%s", door)
	}
}

// Ensure offline handovers that did not match are listed for review with
// what did not match, and a pending one can be checked again.
func TestConsoleDoorstepReview(t *testing.T) {
	x := newHarness(t)
	d := x.doorstep("PX-V1")
	must(x.svc.OutForDelivery(x.ctx, x.courier, d.Parcel.ID, 1))(t)
	e := must(x.svc.SubmitOffline(x.ctx, x.courier, d.Parcel.ID, service.OfflineInput{Password: "000000",
		Position: service.Position{Lat: 48.30, Lon: 11.90}, RecordedAt: x.clock.Now()}))(t)
	if e.State != parcelguard.OfflineMismatch {
		t.Fatalf("offline entry %s", e.State)
	}
	b := x.signedIn("console", "olga", parcelguard.RoleOperator)
	res := b.get("/console/doorstep")
	mism := res.body[strings.Index(res.body, `id="mismatches"`):strings.Index(res.body, `id="pending"`)]
	if !strings.Contains(mism, d.Parcel.ID) || !strings.Contains(mism, ">position<") {
		t.Errorf("mismatch not listed:\n%s", mism)
	}
	if res := b.post("/console/doorstep", "/console/doorstep/nope/verify", nil); res.status != 404 {
		t.Errorf("unknown entry: %d", res.status)
	}
	res = b.post("/console/doorstep", "/console/doorstep/"+e.ID+"/verify", nil)
	if res.header.Get("Location") != "/console/doorstep?done=mismatch" {
		t.Errorf("check again: %d %q", res.status, res.header.Get("Location"))
	}
}
