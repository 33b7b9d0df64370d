package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/agent"
	"github.com/parcelguard/parcelguard/sqlite"
)

// frigateFake is a Frigate NVR's manual-event API: it records the
// requested paths and answers with an event id.
type frigateFake struct {
	mu    sync.Mutex
	paths []string
}

func (f *frigateFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"success": true, "message": "ok", "event_id": "frg-1"}`)
}

var (
	kioskOn   = regexp.MustCompile(`kiosk on (http://\S+)/`)
	demoPIN   = regexp.MustCompile(`(?m)^deposited\s+(\S+)\s+(.+?)\s+PIN (\d{6}) \+ phone digits (\d{4})`)
	kioskForm = regexp.MustCompile(`name="token" value="([^"]+)"`)
)

// Ensure `parcelguard agent` serves the kiosk on --kiosk-listen, where a
// demo parcel's PIN opens its door, and bookmarks the door's opening in the
// --camera video system; the bookmark id reaches the cloud's audit event.
func TestAgentKioskAndCamera(t *testing.T) {
	nvr := &frigateFake{}
	nvrSrv := httptest.NewServer(nvr)
	defer nvrSrv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--data-dir", dir, "--listen", "127.0.0.1:0"}, noEnv, stdout, &syncBuffer{})
	}()
	waitListening(t, stdout, done)
	defer func() { cancel(); <-done }()

	// A deposited demo parcel and the provisioning file of its locker.
	var (
		prov             *agent.Provisioning
		file, pin, phone string
	)
	for deadline := time.Now().Add(20 * time.Second); prov == nil; time.Sleep(50 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(dir, "lockers", "*.json"))
		for _, f := range files {
			p, err := agent.LoadProvisioning(f)
			if err != nil {
				continue
			}
			for _, m := range demoPIN.FindAllStringSubmatch(stdout.String(), -1) {
				if strings.TrimSpace(m[2]) == p.SiteName {
					prov, file, pin, phone = p, f, m[3], m[4]
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no provisioned locker holds a demo parcel; demo output:\n%s", stdout)
		}
	}

	agentOut := &syncBuffer{}
	agentDone := make(chan error, 1)
	actx, stopAgent := context.WithCancel(ctx)
	defer func() { stopAgent(); <-agentDone }()
	go func() {
		agentDone <- run(actx, []string{"agent", "--provisioning", file, "--data-dir", t.TempDir(), "--heartbeat", "100ms",
			"--kiosk-listen", "127.0.0.1:0", "--camera", "frigate+" + nvrSrv.URL, "--camera-name", "front", "--camera-attempts", "1"},
			noEnv, agentOut, agentOut)
	}()
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; time.Sleep(20 * time.Millisecond) {
		if m := kioskOn.FindStringSubmatch(agentOut.String()); m != nil {
			base = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not serve the kiosk:\n%s", agentOut)
		}
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("kiosk on %s, want loopback", base)
	}

	db, err := sqlite.Open(ctx, filepath.Join(dir, "parcelguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The grants reach the agent through the device channel: wait until
	// every grant.new the cloud sent is applied (a code tried earlier would
	// count against the kiosk's failure budget, as it should).
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var pending, sent []*parcelguard.DeviceCommand
		_ = db.View(ctx, func(tx parcelguard.Tx) (err error) {
			if pending, err = tx.DeviceCommands(ctx, parcelguard.DeviceCommandFilter{SiteID: prov.SiteID, State: parcelguard.DeviceCommandPending}); err != nil {
				return err
			}
			sent, err = tx.DeviceCommands(ctx, parcelguard.DeviceCommandFilter{SiteID: prov.SiteID, State: parcelguard.DeviceCommandSent})
			return err
		})
		if len(pending) == 0 && len(sent) > 0 && strings.Count(agentOut.String(), "command applied") >= len(sent) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("grants not applied: %d pending, %d sent; agent:\n%s", len(pending), len(sent), agentOut)
		}
	}
	res, err := http.Get(base + "/en/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), prov.SiteName) {
		t.Fatalf("kiosk page does not name the site %q", prov.SiteName)
	}
	m := kioskForm.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no form token:\n%s", b)
	}
	res, err = http.PostForm(base+"/en/pin", url.Values{"token": {string(m[1])}, "pin": {pin}, "phone": {phone}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "is open") {
		t.Fatalf("kiosk pickup: %d\n%s\nagent:\n%s", res.StatusCode, b, agentOut)
	}

	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var evs []*parcelguard.Event
		_ = db.View(ctx, func(tx parcelguard.Tx) (err error) {
			evs, err = tx.Events(ctx, parcelguard.EventFilter{Stream: parcelguard.SiteStream(prov.SiteID)})
			return err
		})
		bookmarked := false
		for _, e := range evs {
			bookmarked = bookmarked || (e.Kind == parcelguard.EventDoorOpened && e.Data["bookmark"] == "frg-1")
		}
		if bookmarked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no bookmarked door.opened in the cloud; agent:\n%s", agentOut)
		}
	}
	nvr.mu.Lock()
	defer nvr.mu.Unlock()
	if len(nvr.paths) == 0 || !strings.HasPrefix(nvr.paths[0], "POST /api/events/front/door.opened ") || !strings.HasSuffix(nvr.paths[0], "/create") {
		t.Fatalf("frigate requests %v", nvr.paths)
	}
}
