package http_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"golang.org/x/time/rate"

	"github.com/parcelguard/parcelguard"
	pghttp "github.com/parcelguard/parcelguard/http"
)

// siteEvents returns the kinds of events in a site's audit stream, with
// their data, oldest first.
func siteEvents(e *env, siteID string) []*parcelguard.Event {
	e.t.Helper()
	var out []*parcelguard.Event
	err := e.store.View(context.Background(), func(tx parcelguard.Tx) (err error) {
		out, err = tx.Events(context.Background(), parcelguard.EventFilter{Stream: parcelguard.SiteStream(siteID), Limit: 1000})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func countEvents(es []*parcelguard.Event, kind parcelguard.EventKind) int {
	n := 0
	for _, ev := range es {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

func ifMatch(tag string) map[string]string { return map[string]string{"If-Match": tag} }

// Ensure site and carrier changes are conditional: GET and each change
// answer the version as ETag; a change without If-Match is 428, with a
// stale or weak tag 412 and changes nothing, with the current tag (or in a
// list, or *) it applies; of concurrent changes naming the same version
// exactly one wins; and a caller who may not change the thing hears 403
// first, whatever its headers.
func TestConditionalUpdates(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		e := newEnvOn(t, engine, func(c *pghttp.Config) {
			c.KeyLimit = pghttp.RateLimit{Rate: rate.Inf}
			c.AddressLimit = pghttp.RateLimit{Rate: rate.Inf}
		})
		w := newWorld(e)
		path := "/v1/sites/" + w.site.ID
		r := e.must(200, "GET", path, w.courier, nil)
		var site pghttp.Site
		r.decode(t, &site)
		if r.header.Get("ETag") != `"1"` || site.Version != 1 {
			t.Fatalf("new site: ETag %q version %d, want \"1\" and 1", r.header.Get("ETag"), site.Version)
		}

		mustProblem(t, e.do("PATCH", path, w.operator, map[string]any{"name": "Blind"}), 428, "precondition_required")
		mustProblem(t, e.do("PATCH", path, w.carrierKey, map[string]any{"name": "Blind"}), 403, "forbidden")
		r = e.mustWith(ifMatch(`"1"`), 200, "PATCH", path, w.operator, map[string]any{"name": "First"})
		r.decode(t, &site)
		if r.header.Get("ETag") != `"2"` || site.Version != 2 || site.Name != "First" {
			t.Fatalf("after a change: ETag %q %+v", r.header.Get("ETag"), site)
		}
		for _, stale := range []string{`"1"`, `W/"2"`, `2`, `"two"`, `"0"`} {
			mustProblem(t, e.doWith(ifMatch(stale), "PATCH", path, w.operator, map[string]any{"name": "Lost"}), 412, "precondition_failed")
		}
		e.must(200, "GET", path, w.operator, nil).decode(t, &site)
		if site.Name != "First" || site.Version != 2 {
			t.Fatalf("refused changes changed the site: %+v", site)
		}
		r = e.mustWith(ifMatch(`"7", "2"`), 200, "PATCH", path, w.operator, map[string]any{"opening_hours": "24/7"})
		if r.header.Get("ETag") != `"3"` {
			t.Fatalf("list If-Match: ETag %q", r.header.Get("ETag"))
		}
		e.mustWith(ifMatch("*"), 200, "PATCH", path, w.operator, map[string]any{"opening_hours": "Mo-Fr 8-20"})
		if n := countEvents(siteEvents(e, w.site.ID), parcelguard.EventSiteUpdated); n != 3 {
			t.Fatalf("%d site.updated events, want 3", n)
		}

		// Concurrent editors of version 4: one wins, the others hear 412.
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			statuses = map[int]int{}
		)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := doRaw(t, &env{t: t, srv: e.srv, extra: ifMatch(`"4"`)}, "PATCH", path, "Bearer "+w.operator,
					"application/json", `{"name":"Editor `+string(rune('A'+i))+`"}`)
				mu.Lock()
				statuses[res.status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if statuses[200] != 1 || statuses[412] != 7 {
			t.Fatalf("concurrent changes of one version: %v, want one 200 and seven 412", statuses)
		}

		// Carriers: the version is in the listing; the policy is part of it.
		var cs pghttp.List[pghttp.CarrierDetail]
		e.must(200, "GET", "/v1/carriers", w.carrierKey, nil).decode(t, &cs)
		if len(cs.Items) != 1 || cs.Items[0].Version != 1 {
			t.Fatalf("carrier listing %+v, want version 1", cs.Items)
		}
		cpath := "/v1/carriers/" + w.carrier.ID
		mustProblem(t, e.do("PATCH", cpath, w.operator, map[string]any{"fallback": "assign"}), 428, "precondition_required")
		r = e.mustWith(ifMatch(`"1"`), 200, "PATCH", cpath, w.operator, map[string]any{"fallback": "assign"})
		var c pghttp.CarrierDetail
		r.decode(t, &c)
		if r.header.Get("ETag") != `"2"` || c.Version != 2 || c.Fallback != "assign" {
			t.Fatalf("changed carrier: ETag %q %+v", r.header.Get("ETag"), c)
		}
		mustProblem(t, e.doWith(ifMatch(`"1"`), "PATCH", cpath, w.operator, map[string]any{"phone_factor": false}), 412, "precondition_failed")
		e.must(200, "GET", "/v1/carriers", w.carrierKey, nil).decode(t, &cs)
		if !cs.Items[0].PhoneFactor || cs.Items[0].Version != 2 {
			t.Fatalf("a stale change reached the carrier: %+v", cs.Items[0])
		}
	})
}

// Ensure a site is decommissioned only once nothing is waiting for or
// held at it (409 naming what is), then leaves search, the full-locker
// fallback, announcements and redirects, refuses changes, keeps its
// history and records it once; and that a compartment is removed only
// when it holds nothing, leaving the site's list and its free count.
func TestDecommission(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		e := newEnvOn(t, engine, func(c *pghttp.Config) {
			c.KeyLimit = pghttp.RateLimit{Rate: rate.Inf}
			c.AddressLimit = pghttp.RateLimit{Rate: rate.Inf}
		})
		w := newWorld(e)
		near := addSite(e, w, "Near", 52.235, 21.00, "S") // ~700 m from the world's site
		path := "/v1/sites/" + w.site.ID

		x := w.announce(e, "PG-DECOM-1")
		p := mustProblem(t, e.do("DELETE", path, w.operator, nil), 409, "conflict")
		if !strings.Contains(p.Detail, "PG-DECOM-1") || !strings.Contains(p.Detail, "announced") {
			t.Fatalf("refusal %q does not name the announced parcel", p.Detail)
		}
		e.must(200, "POST", "/v1/parcels/"+x.ID+"/reserve", w.courier, nil)
		p = mustProblem(t, e.do("DELETE", path, w.operator, nil), 409, "conflict")
		if !strings.Contains(p.Detail, "A1") {
			t.Fatalf("refusal %q does not name the reserved compartment A1", p.Detail)
		}
		mustProblem(t, e.do("DELETE", path, w.carrierKey, nil), 403, "forbidden")
		mustProblem(t, e.do("DELETE", "/v1/sites/site_nope", w.operator, nil), 404, "not_found")

		// Once the parcel goes elsewhere, the site can go.
		e.must(200, "POST", "/v1/parcels/"+x.ID+"/redirect", w.carrierKey, map[string]any{"site_id": near.ID})
		var site pghttp.Site
		e.must(200, "DELETE", path, w.operator, nil).decode(t, &site)
		if site.DecommissionedAt.IsZero() || site.Version != 2 {
			t.Fatalf("decommissioned site %+v", site)
		}
		var again pghttp.Site
		e.must(200, "DELETE", path, w.operator, nil).decode(t, &again)
		if !again.DecommissionedAt.Equal(site.DecommissionedAt) || again.Version != site.Version {
			t.Fatalf("decommissioning twice changed the site: %+v", again)
		}
		if n := countEvents(siteEvents(e, w.site.ID), parcelguard.EventSiteDecommissioned); n != 1 {
			t.Fatalf("%d site.decommissioned events, want 1", n)
		}
		e.must(200, "GET", path, w.courier, nil) // the history stays readable

		var found pghttp.List[pghttp.SiteSearchResult]
		e.must(200, "GET", "/v1/sites/search?lat=52.2288&lon=21.0031&radius=5000", "", nil).decode(t, &found)
		if len(found.Items) != 1 || found.Items[0].ID != near.ID {
			t.Fatalf("search found %+v, want only %s", found.Items, near.ID)
		}
		mustProblem(t, e.do("POST", "/v1/parcels", w.carrierKey, map[string]any{"tracking_number": "PG-DECOM-2",
			"recipient": map[string]any{"name": "A", "phone": "+48600100200"}, "size": "S", "site_id": w.site.ID}), 409, "conflict")
		mustProblem(t, e.do("POST", "/v1/parcels/"+x.ID+"/redirect", w.carrierKey, map[string]any{"site_id": w.site.ID}), 409, "conflict")
		mustProblem(t, e.doWith(anyVersion, "PATCH", path, w.operator, map[string]any{"name": "Back"}), 409, "conflict")
		mustProblem(t, e.do("POST", path+"/compartments", w.operator, map[string]any{"label": "Z1", "size": "S"}), 409, "conflict")

		// The fallback never picks it, though it has room: Near is full
		// once x is in it, and a parcel for Near stays there.
		e.must(200, "POST", "/v1/parcels/"+x.ID+"/reserve", w.courier, nil)
		e.mustWith(anyVersion, 200, "PATCH", "/v1/carriers/"+w.carrier.ID, w.operator,
			map[string]any{"fallback": "assign", "fallback_max_distance_m": 50000})
		var y pghttp.Parcel
		e.must(201, "POST", "/v1/parcels", w.carrierKey, map[string]any{"tracking_number": "PG-DECOM-3",
			"recipient": map[string]any{"name": "A", "phone": "+48600100200"}, "size": "S", "site_id": near.ID}).decode(t, &y)
		mustProblem(t, e.do("POST", "/v1/parcels/"+y.ID+"/reserve", w.courier, nil), 409, "conflict")
		e.must(200, "GET", "/v1/parcels/"+y.ID, w.carrierKey, nil).decode(t, &y)
		if y.SiteID != near.ID {
			t.Fatalf("the fallback sent a parcel to %s, want it kept at %s", y.SiteID, near.ID)
		}

		// Compartments: a reserved one stays, a free one goes.
		var cmps pghttp.List[pghttp.Compartment]
		e.must(200, "GET", "/v1/sites/"+near.ID+"/compartments", w.operator, nil).decode(t, &cmps)
		held := cmps.Items[0]
		p = mustProblem(t, e.do("DELETE", "/v1/compartments/"+held.ID, w.operator, nil), 409, "conflict")
		if !strings.Contains(p.Detail, held.Label) {
			t.Fatalf("refusal %q does not name compartment %s", p.Detail, held.Label)
		}
		free := w.compartments[1] // M at the decommissioned site
		var removed pghttp.Compartment
		e.must(200, "DELETE", "/v1/compartments/"+free.ID, w.operator, nil).decode(t, &removed)
		if removed.State != "removed" {
			t.Fatalf("removed compartment %+v", removed)
		}
		e.must(200, "DELETE", "/v1/compartments/"+free.ID, w.operator, nil)
		mustProblem(t, e.do("PATCH", "/v1/compartments/"+free.ID, w.operator, map[string]any{"state": "free"}), 409, "conflict")
		mustProblem(t, e.do("DELETE", "/v1/compartments/"+free.ID, w.courier, nil), 403, "forbidden")
		e.must(200, "GET", path+"/compartments", w.operator, nil).decode(t, &cmps)
		if len(cmps.Items) != len(w.compartments)-1 {
			t.Fatalf("site lists %d compartments, want %d", len(cmps.Items), len(w.compartments)-1)
		}
		for _, c := range cmps.Items {
			if c.ID == free.ID {
				t.Fatalf("removed compartment still listed: %+v", c)
			}
		}
		if n := countEvents(siteEvents(e, w.site.ID), parcelguard.EventCompartmentRemoved); n != 1 {
			t.Fatalf("%d compartment.removed events, want 1", n)
		}

		// A working site loses a removed compartment's room in search.
		extra := addSite(e, w, "Extra", 52.30, 21.00, "S", "S")
		e.must(200, "GET", "/v1/sites/"+extra.ID+"/compartments", w.operator, nil).decode(t, &cmps)
		e.must(200, "DELETE", "/v1/compartments/"+cmps.Items[0].ID, w.operator, nil)
		e.must(200, "GET", "/v1/sites/search?lat=52.30&lon=21.00&radius=100", "", nil).decode(t, &found)
		if len(found.Items) != 1 || found.Items[0].FreeCompartments["S"] != 1 {
			t.Fatalf("search after a removal %+v, want one free S", found.Items)
		}
	})
}
