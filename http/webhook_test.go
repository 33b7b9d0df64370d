package http_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/notify"
)

// Ensure two redirects of a parcel reach the carrier's endpoint as two
// signed webhooks, each named after its own audit event (the id the
// carrier deduplicates on), and that running the dispatcher again sends
// neither a second time.
func TestTwoRedirectsReachTheCarrier(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		e := newEnvOn(t, engine)
		w := newWorld(e)
		other := addSite(e, w, "Other", 52.25, 21.01, "S")

		secret := strings.Repeat("s", 32)
		var (
			mu   sync.Mutex
			got  []notify.WebhookEvent
			keys []string
		)
		endpoint := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if err := notify.VerifyWebhook(r.Header.Get(notify.SignatureHeader), body, e.clock.Now(), 0, []byte(secret)); err != nil {
				t.Errorf("webhook signature: %v", err)
			}
			var ev notify.WebhookEvent
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Errorf("webhook body %s: %v", body, err)
			}
			mu.Lock()
			got, keys = append(got, ev), append(keys, r.Header.Get("Idempotency-Key"))
			mu.Unlock()
		}))
		defer endpoint.Close()
		d, err := notify.New(notify.Config{Webhooks: map[string]notify.WebhookConfig{w.carrier.ID: {URL: endpoint.URL,
			Secrets: []notify.Secret{notify.Secret(secret)}}}},
			notify.Options{Store: e.store, Clock: e.clock, Keys: e.keys, Codes: e.svc})
		if err != nil {
			t.Fatal(err)
		}

		x := w.announce(e, "PG-HOOK-1")
		e.must(200, "POST", "/v1/parcels/"+x.ID+"/redirect", w.carrierKey, map[string]any{"site_id": other.ID})
		e.clock.Advance(time.Minute)
		e.must(200, "POST", "/v1/parcels/"+x.ID+"/redirect", w.carrierKey, map[string]any{"site_id": w.site.ID})
		for range 2 {
			if _, err := d.DispatchDue(t.Context()); err != nil {
				t.Fatal(err)
			}
		}

		var redirects []notify.WebhookEvent
		for i, ev := range got {
			if ev.ID != keys[i] {
				t.Errorf("webhook id %q, Idempotency-Key %q", ev.ID, keys[i])
			}
			if ev.Type == string(parcelguard.EventParcelRedirected) {
				redirects = append(redirects, ev)
			}
		}
		if len(redirects) != 2 {
			t.Fatalf("carrier received %d redirect webhooks, want 2: %+v", len(redirects), got)
		}
		var events []string
		for _, ev := range eventKinds(e, w, x.ID) {
			if ev.Kind == string(parcelguard.EventParcelRedirected) {
				events = append(events, ev.ID)
			}
		}
		if len(events) != 2 {
			t.Fatalf("%d redirect events, want 2", len(events))
		}
		seen := map[string]bool{}
		for _, ev := range redirects {
			if !strings.HasPrefix(ev.ID, "webhook:evt_") || seen[ev.ID] {
				t.Errorf("webhook id %q: want a distinct webhook:<event id>", ev.ID)
			}
			seen[ev.ID] = true
			if id := ev.Data["event_id"]; ev.ID != "webhook:"+id || (id != events[0] && id != events[1]) {
				t.Errorf("webhook %q names event %q, not one of %v", ev.ID, id, events)
			}
		}
		if redirects[0].Parcel.SiteID == redirects[1].Parcel.SiteID {
			t.Errorf("both redirect webhooks name site %s", redirects[0].Parcel.SiteID)
		}
	})
}
