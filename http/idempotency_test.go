package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	pghttp "github.com/parcelguard/parcelguard/http"
)

// doKey sends a JSON POST with an Idempotency-Key.
func (e *env) doKey(path, token, key string, body any) response {
	e.t.Helper()
	data := []byte{}
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			e.t.Fatal(err)
		}
	}
	req, err := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(data))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func parcelBody(w *world, tracking string) map[string]any {
	return map[string]any{
		"tracking_number": tracking,
		"recipient":       map[string]any{"name": "Anna Nowak", "phone": "+48600100200"},
		"size":            "S",
		"site_id":         w.site.ID,
	}
}

func TestIdempotency(t *testing.T) {
	// Ensure a retry with the same key and body gets the stored answer
	// without running again, and that the key is per API key.
	t.Run("Replay", func(t *testing.T) {
		e := newEnv(t)
		w := newWorld(e)
		first := e.doKey("/v1/parcels", w.carrierKey, "order-1", parcelBody(w, "PG-5001"))
		if first.status != 201 || first.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("first: %d %v %s", first.status, first.header, first.body)
		}
		again := e.doKey("/v1/parcels", w.carrierKey, "order-1", parcelBody(w, "PG-5001"))
		if again.status != 201 || !bytes.Equal(again.body, first.body) || again.header.Get("Idempotent-Replayed") != "true" ||
			again.header.Get("Location") != first.header.Get("Location") || again.header.Get("Content-Type") != first.header.Get("Content-Type") {
			t.Fatalf("replay: %d %v %s, want %s", again.status, again.header, again.body, first.body)
		}
		var page pghttp.List[pghttp.Parcel]
		e.must(200, "GET", "/v1/parcels", w.carrierKey, nil).decode(t, &page)
		if len(page.Items) != 1 {
			t.Fatalf("%d parcels after a replayed announce, want 1", len(page.Items))
		}
		// The same key under another API key is another key.
		other := e.doKey("/v1/parcels", w.other, "order-1", parcelBody(w, "PG-5001"))
		if other.status != 201 || other.header.Get("Idempotent-Replayed") != "" || bytes.Equal(other.body, first.body) {
			t.Fatalf("other caller: %d %s", other.status, other.body)
		}
		// Refusals are stored too: a replayed wrong PIN is not counted twice.
		x, _ := w.deposit(e, "PG-5002")
		_ = x
		for range 2 {
			mustProblem(t, e.doKey("/v1/sites/"+w.site.ID+"/pickup", w.kiosk, "scan-1", map[string]string{"pin": "000000", "phone_digits": "0000"}), 403, "rejected")
		}
		var guard *parcelguard.LockerGuard
		if err := e.store.View(context.Background(), func(tx parcelguard.Tx) (err error) {
			guard, err = tx.LockerGuard(context.Background(), w.site.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if guard.Failures != 1 {
			t.Fatalf("locker failures %d after a replayed wrong PIN, want 1", guard.Failures)
		}
	})

	// Ensure the same key with another body (or path) is a 422 problem.
	t.Run("ErrReused", func(t *testing.T) {
		e := newEnv(t)
		w := newWorld(e)
		e.doKey("/v1/parcels", w.carrierKey, "order-2", parcelBody(w, "PG-5101"))
		r := e.doKey("/v1/parcels", w.carrierKey, "order-2", parcelBody(w, "PG-5102"))
		mustProblem(t, r, 422, "idempotency_key_reused")
		x := w.announce(e, "PG-5103")
		r = e.doKey("/v1/parcels/"+x.ID+"/cancel", w.carrierKey, "order-2", nil)
		mustProblem(t, r, 422, "idempotency_key_reused")
		p := mustProblem(t, e.doKey("/v1/parcels", w.carrierKey, "bad key", parcelBody(w, "PG-5104")), 422, "invalid")
		if len(p.Errors) != 1 || p.Errors[0].Location != "header.Idempotency-Key" {
			t.Fatalf("errors %+v", p.Errors)
		}
	})

	// Ensure a retry while the first request holds the key is a 409 with
	// Retry-After, and that concurrent duplicates create one parcel.
	t.Run("ErrInFlight", func(t *testing.T) {
		e := newEnv(t)
		w := newWorld(e)
		prefix := w.carrierKey[:16]
		if _, _, err := e.svc.BeginIdempotent(context.Background(), "key:"+prefix, "order-3", []byte("x")); err != nil {
			t.Fatal(err)
		}
		r := e.doKey("/v1/parcels", w.carrierKey, "order-3", parcelBody(w, "PG-5201"))
		mustProblem(t, r, 409, "idempotency_key_in_use")
		if r.header.Get("Retry-After") == "" {
			t.Fatal("409 in use without Retry-After")
		}

		var wg sync.WaitGroup
		results := make([]response, 16)
		for i := range results {
			wg.Go(func() { results[i] = e.doKey("/v1/parcels", w.carrierKey, "order-4", parcelBody(w, "PG-5202")) })
		}
		wg.Wait()
		var created []byte
		for _, r := range results {
			switch r.status {
			case 201:
				if created != nil && !bytes.Equal(created, r.body) {
					t.Fatalf("two different answers: %s and %s", created, r.body)
				}
				created = r.body
			case 409:
				mustProblem(t, r, 409, "idempotency_key_in_use")
			default:
				t.Fatalf("status %d: %s", r.status, r.body)
			}
		}
		var page pghttp.List[pghttp.Parcel]
		e.must(200, "GET", "/v1/parcels?tracking_number=PG-5202", w.carrierKey, nil).decode(t, &page)
		if len(page.Items) != 1 {
			t.Fatalf("%d parcels from concurrent duplicates, want 1", len(page.Items))
		}
	})

	// Ensure keys are forgotten after 24 h and purged by the service.
	t.Run("Expiry", func(t *testing.T) {
		e := newEnv(t)
		w := newWorld(e)
		e.doKey("/v1/parcels", w.carrierKey, "order-5", parcelBody(w, "PG-5301"))
		e.clock.Advance(23 * time.Hour)
		mustProblem(t, e.doKey("/v1/parcels", w.carrierKey, "order-5", parcelBody(w, "PG-5302")), 422, "idempotency_key_reused")
		e.clock.Advance(time.Hour)
		if r := e.doKey("/v1/parcels", w.carrierKey, "order-5", parcelBody(w, "PG-5302")); r.status != 201 || r.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("after 24 h: %d %s", r.status, r.body)
		}
		e.clock.Advance(25 * time.Hour)
		n, err := e.svc.PurgeIdempotencyKeys(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("purged %d, %v; want 1", n, err)
		}
	})

	// Ensure a created API key's token is never stored for replay: the
	// retry is told so, without the token.
	t.Run("NotReplayable", func(t *testing.T) {
		e := newEnv(t)
		body := map[string]any{"role": "operator", "name": "ops"}
		first := e.doKey("/v1/api-keys", e.admin, "key-1", body)
		var k pghttp.APIKeyCreated
		first.decode(t, &k)
		if first.status != 201 || k.Token == "" {
			t.Fatalf("first: %d %s", first.status, first.body)
		}
		again := e.doKey("/v1/api-keys", e.admin, "key-1", body)
		mustProblem(t, again, 409, "not_replayable")
		if strings.Contains(string(again.body), k.Token) || strings.Contains(string(again.body), k.Prefix) {
			t.Fatalf("replay leaks the key: %s", again.body)
		}
		var stored []byte
		if err := e.store.View(context.Background(), func(tx parcelguard.Tx) error {
			r, err := tx.IdempotencyKey(context.Background(), "key:"+e.admin[:16], "key-1")
			if err == nil {
				stored = r.Response
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(stored) != 0 {
			t.Fatalf("stored answer %q for a one-time secret", stored)
		}
		// A failed attempt holds no secret and replays normally.
		bad := map[string]any{"role": "carrier"}
		mustProblem(t, e.doKey("/v1/api-keys", e.admin, "key-2", bad), 422, "invalid")
		r := e.doKey("/v1/api-keys", e.admin, "key-2", bad)
		mustProblem(t, r, 422, "invalid")
		if r.header.Get("Idempotent-Replayed") != "true" {
			t.Fatal("failed attempt not replayed")
		}
	})

	// Ensure a "try again" answer (409, 5xx) releases the key, so the
	// retry runs instead of replaying it.
	t.Run("Released", func(t *testing.T) {
		e := newEnv(t)
		w := newWorld(e)
		var ids []string
		for _, tn := range []string{"PG-5401", "PG-5402", "PG-5403", "PG-5404"} {
			x := w.announce(e, tn)
			ids = append(ids, x.ID)
		}
		for _, id := range ids[:3] { // three compartments, all taken
			e.must(200, "POST", "/v1/parcels/"+id+"/reserve", w.courier, nil)
		}
		mustProblem(t, e.doKey("/v1/parcels/"+ids[3]+"/reserve", w.courier, "res-1", nil), 409, "conflict")
		e.must(200, "POST", "/v1/parcels/"+ids[0]+"/cancel", w.carrierKey, nil)
		if r := e.doKey("/v1/parcels/"+ids[3]+"/reserve", w.courier, "res-1", nil); r.status != 200 || r.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("retry after 409: %d %s", r.status, r.body)
		}

		e.faults.failUpdates.Store(true)
		r := e.doKey("/v1/parcels", w.carrierKey, "order-6", parcelBody(w, "PG-5405"))
		e.faults.failUpdates.Store(false)
		mustProblem(t, r, 500, "internal")
		if r := e.doKey("/v1/parcels", w.carrierKey, "order-6", parcelBody(w, "PG-5405")); r.status != 201 {
			t.Fatalf("retry after 5xx: %d %s", r.status, r.body)
		}
	})
}
