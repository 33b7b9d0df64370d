package http_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	pghttp "github.com/parcelguard/parcelguard/http"
)

// addSite creates a site with compartments of the given sizes.
func addSite(e *env, w *world, name string, lat, lon float64, sizes ...string) pghttp.Site {
	e.t.Helper()
	var s pghttp.Site
	e.must(201, "POST", "/v1/sites", w.operator, map[string]any{"name": name, "address": name + " 1", "lat": lat, "lon": lon,
		"opening_hours": "Mo-Sa 06:00-22:00"}).decode(e.t, &s)
	for i, size := range sizes {
		e.must(201, "POST", "/v1/sites/"+s.ID+"/compartments", w.operator, map[string]any{"label": fmt.Sprintf("X%d", i), "size": size})
	}
	return s
}

// recipientLink mints the magic link of a parcel, as its messages carry.
func recipientLink(e *env, parcelID string) string {
	e.t.Helper()
	tok, err := e.svc.RecipientLink(context.Background(), parcelID)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// Ensure anyone can find lockers near a point, nearest first, with free
// compartments per size and opening hours; the size filter and bad
// coordinates behave.
func TestSearchSites(t *testing.T) {
	e := newEnv(t)
	w := newWorld(e)
	near := addSite(e, w, "Near", 52.2300, 21.0040, "M", "M", "XL")
	addSite(e, w, "Far away", 50.06, 19.94, "S")
	var page pghttp.List[pghttp.SiteSearchResult]
	e.must(200, "GET", "/v1/sites/search?lat=52.2290&lon=21.0030&radius=1000", "", nil).decode(t, &page)
	if len(page.Items) != 2 || page.Items[0].ID != w.site.ID || page.Items[1].ID != near.ID {
		t.Fatalf("got %+v, want the world's site then Near", page.Items)
	}
	got := page.Items[1]
	if got.FreeCompartments["M"] != 2 || got.FreeCompartments["XL"] != 1 || got.FreeCompartments["S"] != 0 ||
		got.OpeningHours != "Mo-Sa 06:00-22:00" || got.DistanceM <= page.Items[0].DistanceM || got.DistanceM > 1000 {
		t.Fatalf("Near answered as %+v", got)
	}
	e.must(200, "GET", "/v1/sites/search?lat=52.2290&lon=21.0030&radius=1000&size=XL", "", nil).decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != near.ID {
		t.Fatalf("size XL: got %+v, want only Near", page.Items)
	}
	p := mustProblem(t, e.do("GET", "/v1/sites/search?lat=95&lon=21", "", nil), 422, "invalid")
	if len(p.Errors) == 0 || p.Errors[0].Location != "query.lat" {
		t.Fatalf("errors %+v, want query.lat", p.Errors)
	}
	mustProblem(t, e.do("GET", "/v1/sites/search?lon=21", "", nil), 422, "invalid")
}

// Ensure operators update sites and carriers (with the fallback policy),
// admins list keys and a revoked key stops working with the next request.
func TestAdministration(t *testing.T) {
	e := newEnv(t)
	w := newWorld(e)
	var site pghttp.Site
	e.mustWith(anyVersion, 200, "PATCH", "/v1/sites/"+w.site.ID, w.operator, map[string]any{"name": "Renamed", "opening_hours": "24/7"}).decode(t, &site)
	if site.Name != "Renamed" || site.OpeningHours != "24/7" || site.Address != w.site.Address {
		t.Fatalf("patched site %+v", site)
	}
	mustProblem(t, e.doWith(anyVersion, "PATCH", "/v1/sites/"+w.site.ID, w.carrierKey, map[string]any{"name": "x"}), 403, "forbidden")
	mustProblem(t, e.doWith(anyVersion, "PATCH", "/v1/sites/site_nope", w.operator, map[string]any{"name": "x"}), 404, "not_found")
	mustProblem(t, e.doWith(anyVersion, "PATCH", "/v1/sites/"+w.site.ID, w.operator, map[string]any{"time_zone": "Mars/Base"}), 422, "invalid")

	var c pghttp.CarrierDetail
	e.mustWith(anyVersion, 200, "PATCH", "/v1/carriers/"+w.carrier.ID, w.operator, map[string]any{"fallback": "assign", "fallback_max_distance_m": 2000}).decode(t, &c)
	if c.Fallback != "assign" || c.FallbackMaxDistanceM != 2000 || !c.PhoneFactor || c.Name != "PostNord" {
		t.Fatalf("patched carrier %+v", c)
	}
	var cs pghttp.List[pghttp.CarrierDetail]
	e.must(200, "GET", "/v1/carriers", w.operator, nil).decode(t, &cs)
	if len(cs.Items) != 2 {
		t.Fatalf("operator sees %d carriers, want 2", len(cs.Items))
	}
	e.must(200, "GET", "/v1/carriers", w.carrierKey, nil).decode(t, &cs)
	if len(cs.Items) != 1 || cs.Items[0].ID != w.carrier.ID || cs.Items[0].Fallback != "assign" {
		t.Fatalf("carrier sees %+v, want only itself", cs.Items)
	}

	var keys pghttp.List[pghttp.APIKey]
	e.must(200, "GET", "/v1/api-keys?carrier_id="+w.carrier.ID, e.admin, nil).decode(t, &keys)
	if len(keys.Items) != 2 {
		t.Fatalf("carrier has %d keys listed, want 2 (carrier, courier)", len(keys.Items))
	}
	mustProblem(t, e.do("GET", "/v1/api-keys", w.operator, nil), 403, "forbidden")
	e.must(200, "GET", "/v1/parcels", w.courier, nil)
	prefix := w.courier[:len("pgk_")+12]
	var revoked pghttp.APIKey
	e.must(200, "DELETE", "/v1/api-keys/"+prefix, e.admin, nil).decode(t, &revoked)
	if revoked.RevokedAt.IsZero() || revoked.Prefix != prefix {
		t.Fatalf("revoked key %+v", revoked)
	}
	mustProblem(t, e.do("GET", "/v1/parcels", w.courier, nil), 401, "unauthorized")
	mustProblem(t, e.do("DELETE", "/v1/api-keys/pgk_nope", e.admin, nil), 404, "not_found")
}

// Ensure unknown ids in request bodies are 422 naming the field, never 404
// or 500.
func TestUnknownReferencedIDs(t *testing.T) {
	e := newEnv(t)
	w := newWorld(e)
	x := w.announce(e, "PG-REF-1")
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		field                     string
	}{
		{"announce site", "POST", "/v1/parcels", w.carrierKey, map[string]any{"tracking_number": "PG-REF-2",
			"recipient": map[string]any{"name": "A", "phone": "+48600100200"}, "size": "S", "site_id": "site_nope"}, "body.site_id"},
		{"announce carrier", "POST", "/v1/parcels", w.operator, map[string]any{"tracking_number": "PG-REF-3",
			"recipient": map[string]any{"name": "A", "phone": "+48600100200"}, "size": "S", "site_id": w.site.ID, "carrier_id": "car_nope"}, "body.carrier_id"},
		{"key carrier", "POST", "/v1/api-keys", e.admin, map[string]any{"role": "carrier", "carrier_id": "car_nope"}, "body.carrier_id"},
		{"key site", "POST", "/v1/api-keys", e.admin, map[string]any{"role": "kiosk", "site_id": "site_nope"}, "body.site_id"},
		{"redirect site", "POST", "/v1/parcels/" + x.ID + "/redirect", w.carrierKey, map[string]any{"site_id": "site_nope"}, "body.site_id"},
		{"recipient redirect site", "POST", "/v1/track/redirect", recipientLink(e, x.ID), map[string]any{"site_id": "site_nope"}, "body.site_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustProblem(t, e.do(tc.method, tc.path, tc.token, tc.body), 422, "invalid")
			if len(p.Errors) != 1 || p.Errors[0].Location != tc.field {
				t.Fatalf("errors %+v, want one for %s", p.Errors, tc.field)
			}
		})
	}
}

// messagesOf returns the outbox messages of a parcel of a kind.
func messagesOf(e *env, parcelID string, kind parcelguard.MessageKind) []*parcelguard.Message {
	e.t.Helper()
	var out []*parcelguard.Message
	err := e.store.View(context.Background(), func(tx parcelguard.Tx) (err error) {
		out, err = tx.Messages(context.Background(), parcelguard.MessageFilter{ParcelID: parcelID, Kind: kind})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// eventKinds returns the kinds of a parcel's events, for the operator.
func eventKinds(e *env, w *world, parcelID string) []pghttp.Event {
	e.t.Helper()
	var es pghttp.List[pghttp.Event]
	e.must(200, "GET", "/v1/parcels/"+parcelID+"/events", w.operator, nil).decode(e.t, &es)
	return es.Items
}

func lastEvent(e *env, w *world, parcelID string, kind string) *pghttp.Event {
	var found *pghttp.Event
	for _, ev := range eventKinds(e, w, parcelID) {
		if ev.Kind == kind {
			found = &ev
		}
	}
	return found
}

// Ensure a carrier and a recipient can redirect a parcel before deposit
// (reservation freed, event, recipient told) and neither can after.
func TestRedirect(t *testing.T) {
	e := newEnv(t)
	w := newWorld(e)
	other := addSite(e, w, "Other", 52.25, 21.01, "S")
	x := w.announce(e, "PG-RED-1")
	e.must(200, "POST", "/v1/parcels/"+x.ID+"/reserve", w.courier, nil)
	e.must(200, "POST", "/v1/parcels/"+x.ID+"/redirect", w.carrierKey, map[string]any{"site_id": other.ID}).decode(t, &x)
	if x.State != "redirected" || x.SiteID != other.ID || x.CompartmentID != "" {
		t.Fatalf("redirected parcel %+v", x)
	}
	var cmps pghttp.List[pghttp.Compartment]
	e.must(200, "GET", "/v1/sites/"+w.site.ID+"/compartments", w.operator, nil).decode(t, &cmps)
	for _, c := range cmps.Items {
		if c.State != "free" {
			t.Fatalf("compartment %s still %s after redirect", c.Label, c.State)
		}
	}
	if ev := lastEvent(e, w, x.ID, "parcel.redirected"); ev == nil || ev.Data["to_site"] != other.ID || ev.Data["from_site"] != w.site.ID {
		t.Fatalf("redirect event %+v", ev)
	}
	if n := len(messagesOf(e, x.ID, parcelguard.MessageRedirected)); n != 2 {
		t.Fatalf("%d redirect messages, want e-mail and SMS", n)
	}
	mustProblem(t, e.do("POST", "/v1/parcels/"+x.ID+"/redirect", w.other, map[string]any{"site_id": w.site.ID}), 404, "not_found")

	// The recipient sends it back to the first locker.
	e.clock.Advance(time.Minute)
	link := recipientLink(e, x.ID)
	var tr pghttp.Tracking
	e.must(200, "POST", "/v1/track/redirect", link, map[string]any{"site_id": w.site.ID}).decode(t, &tr)
	if tr.Locker == nil || tr.Locker.ID != w.site.ID || tr.State != "redirected" {
		t.Fatalf("tracking after recipient redirect %+v", tr)
	}
	if ev := lastEvent(e, w, x.ID, "parcel.redirected"); ev == nil || ev.Actor != "recipient:"+x.ID {
		t.Fatalf("recipient redirect event %+v", ev)
	}
	// Reserve and deposit work from redirected; afterwards redirect is 409.
	e.must(200, "POST", "/v1/parcels/"+x.ID+"/reserve", w.courier, nil)
	e.must(200, "POST", "/v1/parcels/"+x.ID+"/deposit", w.courier, nil)
	mustProblem(t, e.do("POST", "/v1/parcels/"+x.ID+"/redirect", w.carrierKey, map[string]any{"site_id": other.ID}), 409, "conflict")
	mustProblem(t, e.do("POST", "/v1/track/redirect", link, map[string]any{"site_id": other.ID}), 409, "conflict")
}

// Ensure the full-locker fallback: reject refuses, propose refuses naming
// the nearest locker with room (within the distance), assign moves the
// parcel there and tells the recipient.
func TestFullLockerFallback(t *testing.T) {
	e := newEnv(t)
	w := newWorld(e)
	// Fill the world's only S-fitting compartments.
	for i := range 3 {
		x := w.announce(e, fmt.Sprintf("PG-FULL-%d", i))
		e.must(200, "POST", "/v1/parcels/"+x.ID+"/reserve", w.courier, nil)
	}
	far := addSite(e, w, "Far", 52.30, 21.00, "S")    // ~8 km
	near := addSite(e, w, "Near", 52.235, 21.00, "S") // ~700 m
	x := w.announce(e, "PG-FULL-X")
	mustProblem(t, e.do("POST", "/v1/parcels/"+x.ID+"/reserve", w.courier, nil), 409, "conflict")

	e.mustWith(anyVersion, 200, "PATCH", "/v1/carriers/"+w.carrier.ID, w.operator, map[string]any{"fallback": "propose", "fallback_max_distance_m": 5000})
	r := e.do("POST", "/v1/parcels/"+x.ID+"/reserve", w.courier, nil)
	mustProblem(t, r, 409, "conflict")
	var body struct {
		ProposedSite *pghttp.ProposedSite `json:"proposed_site"`
	}
	r.decode(t, &body)
	if body.ProposedSite == nil || body.ProposedSite.SiteID != near.ID || body.ProposedSite.DistanceM <= 0 {
		t.Fatalf("proposal %s, want %s", r.body, near.ID)
	}
	// Announcing to the full locker is refused with the same proposal.
	r = e.do("POST", "/v1/parcels", w.carrierKey, map[string]any{"tracking_number": "PG-FULL-Y",
		"recipient": map[string]any{"name": "A", "phone": "+48600100200"}, "size": "S", "site_id": w.site.ID})
	mustProblem(t, r, 409, "conflict")

	e.mustWith(anyVersion, 200, "PATCH", "/v1/carriers/"+w.carrier.ID, w.operator, map[string]any{"fallback": "assign"})
	e.must(200, "POST", "/v1/parcels/"+x.ID+"/reserve", w.courier, nil).decode(t, &x)
	if x.SiteID != near.ID || x.State != "reserved" || x.CompartmentID == "" {
		t.Fatalf("assigned parcel %+v, want reserved at %s", x, near.ID)
	}
	if n := len(messagesOf(e, x.ID, parcelguard.MessageRedirected)); n != 2 {
		t.Fatalf("%d redirect messages, want e-mail and SMS", n)
	}
	if ev := lastEvent(e, w, x.ID, "parcel.redirected"); ev == nil || ev.Data["reason"] != "locker_full" {
		t.Fatalf("assignment event %+v", ev)
	}
	// Near is full now; Far is beyond 5 km: nothing in reach, refused.
	y := w.announce(e, "PG-FULL-Z")
	mustProblem(t, e.do("POST", "/v1/parcels/"+y.ID+"/reserve", w.courier, nil), 409, "conflict")
	e.mustWith(anyVersion, 200, "PATCH", "/v1/carriers/"+w.carrier.ID, w.operator, map[string]any{"fallback_max_distance_m": 10000})
	e.must(200, "POST", "/v1/parcels/"+y.ID+"/reserve", w.courier, nil).decode(t, &y)
	if y.SiteID != far.ID {
		t.Fatalf("parcel went to %s, want Far %s", y.SiteID, far.ID)
	}
	// Under "assign", announcing to a full locker sends the parcel to the
	// nearest one with room straight away, and the recipient is told.
	other := addSite(e, w, "Other", 52.24, 21.00, "S")
	var z pghttp.Parcel
	e.must(201, "POST", "/v1/parcels", w.carrierKey, map[string]any{"tracking_number": "PG-FULL-A",
		"recipient": map[string]any{"name": "A", "phone": "+48600100200"}, "size": "S", "site_id": w.site.ID}).decode(t, &z)
	if z.SiteID != other.ID {
		t.Fatalf("announced parcel went to %s, want Other %s", z.SiteID, other.ID)
	}
	if n := len(messagesOf(e, z.ID, parcelguard.MessageRedirected)); n != 1 {
		t.Fatalf("%d redirect messages for the announced parcel, want the SMS", n)
	}
}

// Ensure the manifest groups deposits and returns per locker for the
// courier's carrier only, and a compartment problem report puts the door
// out of order and reserves another.
func TestManifestAndCompartmentProblem(t *testing.T) {
	e := newEnv(t)
	w := newWorld(e)
	a := w.announce(e, "PG-MAN-1")
	b := w.announce(e, "PG-MAN-2")
	e.must(200, "POST", "/v1/parcels/"+b.ID+"/reserve", w.courier, nil).decode(t, &b)
	var m pghttp.Manifest
	e.must(200, "GET", "/v1/courier/manifest", w.courier, nil).decode(t, &m)
	if len(m.Lockers) != 1 || m.Lockers[0].Site.ID != w.site.ID || len(m.Lockers[0].Deposits) != 2 || len(m.Lockers[0].Returns) != 0 || m.Day != "2026-03-02" {
		t.Fatalf("manifest %+v", m)
	}
	e.must(200, "GET", "/v1/courier/manifest", w.other, nil).decode(t, &m)
	if len(m.Lockers) != 0 {
		t.Fatalf("another carrier sees %+v", m.Lockers)
	}
	mustProblem(t, e.do("GET", "/v1/courier/manifest", w.kiosk, nil), 403, "forbidden")

	broken := b.CompartmentID
	e.must(200, "POST", "/v1/parcels/"+b.ID+"/compartment-problem", w.courier, map[string]any{"reason": "door jammed"}).decode(t, &b)
	if b.CompartmentID == "" || b.CompartmentID == broken || b.State != "reserved" {
		t.Fatalf("after report: %+v (broken %s)", b, broken)
	}
	var cmps pghttp.List[pghttp.Compartment]
	e.must(200, "GET", "/v1/sites/"+w.site.ID+"/compartments", w.operator, nil).decode(t, &cmps)
	for _, c := range cmps.Items {
		if c.ID == broken && c.State != "out_of_order" {
			t.Fatalf("broken compartment is %s", c.State)
		}
	}
	if ev := lastEvent(e, w, b.ID, string(parcelguard.EventCompartmentFaulty)); ev == nil || ev.Data["reason"] != "door jammed" {
		t.Fatalf("problem event %+v", ev)
	}
	mustProblem(t, e.do("POST", "/v1/parcels/"+a.ID+"/compartment-problem", w.courier, map[string]any{"reason": "x"}), 409, "conflict")
	e.must(200, "POST", "/v1/parcels/"+b.ID+"/deposit", w.courier, nil)
}

// Ensure a recipient's delegate gets a code of their own that opens the
// compartment; the pickup names the delegate and ends the recipient's
// code; a revoked delegate code opens nothing.
func TestDelegateCodes(t *testing.T) {
	e := newEnv(t)
	w := newWorld(e)
	x, pin := w.deposit(e, "PG-DEL-1")
	link := recipientLink(e, x.ID)
	var d, d2 pghttp.Delegate
	e.must(201, "POST", "/v1/track/delegates", link, map[string]any{"name": "Jan Kowalski", "phone": "+48600100999"}).decode(t, &d)
	e.must(201, "POST", "/v1/track/delegates", link, map[string]any{"name": "Ola", "email": "ola@example.com"}).decode(t, &d2)
	if d.State != "active" || d.ID == "" || d.Phone == "+48600100999" {
		t.Fatalf("delegate %+v", d)
	}
	if n := len(messagesOf(e, x.ID, parcelguard.MessageDelegateCode)); n != 2 {
		t.Fatalf("%d delegate messages, want 2", n)
	}
	// The recipient's own code is still the recipient's.
	if got, _, err := e.svc.PickupCode(context.Background(), x.ID); err != nil || got != pin {
		t.Fatalf("recipient code %q, %v; want %q", got, err, pin)
	}
	code2, _, err := e.svc.GrantCode(context.Background(), d2.ID)
	if err != nil {
		t.Fatal(err)
	}
	var revoked pghttp.Delegate
	e.must(200, "DELETE", "/v1/track/delegates/"+d2.ID, link, nil).decode(t, &revoked)
	if revoked.State != "revoked" {
		t.Fatalf("revoked delegate %+v", revoked)
	}
	mustProblem(t, e.do("POST", "/v1/sites/"+w.site.ID+"/pickup", w.kiosk, map[string]any{"pin": code2}), 403, "rejected")
	mustProblem(t, e.do("DELETE", "/v1/track/delegates/grt_nope", link, nil), 404, "not_found")

	code, _, err := e.svc.GrantCode(context.Background(), d.ID)
	if err != nil || code == pin {
		t.Fatalf("delegate code %q (%v) must differ from the recipient's", code, err)
	}
	e.must(200, "POST", "/v1/sites/"+w.site.ID+"/pickup", w.kiosk, map[string]any{"pin": code})
	ev := lastEvent(e, w, x.ID, "parcel.picked_up")
	if ev == nil || ev.Data["by"] != "delegate" || ev.Data["delegate"] != "Jan Kowalski" {
		t.Fatalf("pickup event %+v", ev)
	}
	msgs := messagesOf(e, x.ID, parcelguard.MessagePickedUp)
	if len(msgs) == 0 || msgs[0].Data["delegate"] != "Jan Kowalski" {
		t.Fatalf("pickup messages %+v", msgs)
	}
	mustProblem(t, e.do("POST", "/v1/sites/"+w.site.ID+"/pickup", w.kiosk, map[string]any{"pin": pin, "phone_digits": "0200"}), 403, "rejected")
	var ds pghttp.List[pghttp.Delegate]
	e.must(200, "GET", "/v1/track/delegates", link, nil).decode(t, &ds)
	states := map[string]string{}
	for _, it := range ds.Items {
		states[it.ID] = it.State
	}
	if len(ds.Items) != 2 || states[d.ID] != "used" || states[d2.ID] != "revoked" {
		t.Fatalf("delegates %+v", ds.Items)
	}
	mustProblem(t, e.do("POST", "/v1/track/delegates", link, map[string]any{"name": "Late"}), 422, "invalid")
	mustProblem(t, e.do("POST", "/v1/track/delegates", link, map[string]any{"name": "Late", "phone": "+48600100998"}), 409, "conflict")
}
