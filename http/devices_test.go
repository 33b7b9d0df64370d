package http_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	pghttp "github.com/parcelguard/parcelguard/http"
)

// Ensure operators list lockers with their reachability, open one
// compartment remotely (audited with the reason, queued as a command) and
// change a locker's settings, with problem+json for a site without an
// agent, a bad setting or a reason with control characters.
func TestLockerOperations(t *testing.T) {
	e := newEnv(t)
	w := newWorld(e)
	ctx := context.Background()
	cmp := w.compartments[0]

	// Without an agent the site has no locker to command.
	p := mustProblem(t, e.do("POST", "/v1/compartments/"+cmp.ID+"/open", w.operator, map[string]any{"reason": "stuck"}), 422, "invalid")
	if len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Location, "compartment") {
		t.Fatalf("no agent: %+v", p)
	}
	var list pghttp.List[pghttp.Locker]
	e.must(200, "GET", "/v1/lockers", w.operator, nil).decode(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("lockers before provisioning: %+v", list.Items)
	}

	if _, err := e.svc.ProvisionLocker(ctx, parcelguard.System, w.site.ID, "locker-test", "$2a$10$hash"); err != nil {
		t.Fatal(err)
	}
	e.must(200, "GET", "/v1/lockers", w.operator, nil).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].SiteID != w.site.ID || list.Items[0].Reachability != "never_seen" ||
		list.Items[0].LastSeenAt != nil || list.Items[0].SiteName != w.site.Name {
		t.Fatalf("provisioned locker: %+v", list.Items)
	}
	if err := e.svc.LockerHeartbeat(ctx, w.site.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}

	var open pghttp.RemoteOpen
	e.must(202, "POST", "/v1/compartments/"+cmp.ID+"/open", w.operator, map[string]any{"reason": "recipient at the locker, code lost"}).decode(t, &open)
	if open.CompartmentID != cmp.ID || open.State != "queued" || open.ValidSeconds != 300 {
		t.Fatalf("remote open: %+v", open)
	}
	mustProblem(t, e.do("POST", "/v1/compartments/"+cmp.ID+"/open", w.operator, map[string]any{"reason": "a\nb"}), 422, "invalid")
	mustProblem(t, e.do("POST", "/v1/compartments/"+cmp.ID+"/open", w.operator, map[string]any{}), 422, "invalid")
	mustProblem(t, e.do("POST", "/v1/compartments/cmp_nope/open", w.operator, map[string]any{"reason": "x"}), 404, "not_found")

	e.must(202, "POST", "/v1/sites/"+w.site.ID+"/locker/config", w.operator, map[string]any{"settings": map[string]string{"heartbeat_seconds": "60"}})
	p = mustProblem(t, e.do("POST", "/v1/sites/"+w.site.ID+"/locker/config", w.operator,
		map[string]any{"settings": map[string]string{"heartbeat_seconds": "0", "open_all": "yes"}}), 422, "invalid")
	if len(p.Errors) != 2 || !strings.Contains(p.Errors[0].Location, "settings.heartbeat_seconds") || !strings.Contains(p.Errors[1].Location, "settings.open_all") {
		t.Fatalf("bad settings: %+v", p)
	}
	mustProblem(t, e.do("POST", "/v1/sites/"+w.site.ID+"/locker/config", w.operator, map[string]any{"settings": map[string]string{}}), 422, "invalid")
	mustProblem(t, e.do("POST", "/v1/sites/site_nope/locker/config", w.operator, map[string]any{"settings": map[string]string{"heartbeat_seconds": "60"}}), 404, "not_found")

	e.clock.Advance(time.Minute)
	e.must(200, "GET", "/v1/lockers", w.operator, nil).decode(t, &list)
	l := list.Items[0]
	if l.Reachability != "reachable" || l.LastSeenAt == nil || l.PendingCommands != 2 {
		t.Fatalf("locker after contact: %+v", l)
	}

	// One open and one configuration are queued and audited, nothing else.
	var cmds []*parcelguard.DeviceCommand
	var evs []*parcelguard.Event
	if err := e.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		if cmds, err = tx.DeviceCommands(ctx, parcelguard.DeviceCommandFilter{SiteID: w.site.ID}); err != nil {
			return err
		}
		evs, err = tx.Events(ctx, parcelguard.EventFilter{Stream: parcelguard.SiteStream(w.site.ID)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Both were queued at the same instant of the test clock, so their
	// order is not fixed.
	byKind := map[parcelguard.DeviceCommandKind]*parcelguard.DeviceCommand{}
	for _, c := range cmds {
		byKind[c.Kind] = c
	}
	if open := byKind[parcelguard.DeviceDoorOpen]; len(cmds) != 2 || open == nil || open.Data["compartment"] != cmp.ID || byKind[parcelguard.DeviceConfig] == nil {
		t.Fatalf("commands %+v", cmds)
	}
	kinds := map[parcelguard.EventKind]int{}
	for _, ev := range evs {
		kinds[ev.Kind]++
		if ev.Kind == parcelguard.EventDoorRemoteOpen && ev.Data["reason"] != "recipient at the locker, code lost" {
			t.Errorf("remote open audited as %+v", ev.Data)
		}
	}
	if kinds[parcelguard.EventDoorRemoteOpen] != 1 || kinds[parcelguard.EventLockerConfigured] != 1 {
		t.Fatalf("audit %v", kinds)
	}
}
