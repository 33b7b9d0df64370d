package camera_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/camera"
	"github.com/parcelguard/parcelguard/notify"
)

var at = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// newHook parses spec for a test server's URL with short timeouts.
func newHook(t *testing.T, spec string, secret notify.Secret) camera.Bookmarker {
	t.Helper()
	cfg, err := camera.ParseConfig(spec, secret)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeout, cfg.Backoff = 200*time.Millisecond, 5*time.Millisecond
	b, err := camera.New(cfg, parcelguard.NewManualClock(at), nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWebhookSignedBookmark(t *testing.T) {
	const secret = "s3cret-signing-key"
	var got struct {
		Camera, Label, At, EventID string
		Sig, Key, Type             string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// The receiver's check: the recipe of docs/webhooks.md.
		if err := notify.VerifyWebhook(r.Header.Get(notify.SignatureHeader), body, at, 0, []byte(secret)); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var req struct {
			Camera  string `json:"camera"`
			Label   string `json:"label"`
			At      string `json:"at"`
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got.Camera, got.Label, got.At, got.EventID = req.Camera, req.Label, req.At, req.EventID
		got.Key, got.Type = r.Header.Get("Idempotency-Key"), r.Header.Get("Content-Type")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"bm-42"}`)
	}))
	defer srv.Close()

	id, err := newHook(t, "webhook+"+srv.URL+"/bookmarks", secret).Bookmark(context.Background(), "cam-1", "door.opened", at, "evt_1")
	if err != nil {
		t.Fatal(err)
	}
	if id != "bm-42" {
		t.Errorf("id = %q, want bm-42", id)
	}
	if got.Camera != "cam-1" || got.Label != "door.opened" || got.EventID != "evt_1" || got.At != "2026-11-23T09:00:00Z" {
		t.Errorf("request = %+v", got)
	}
	if got.Key != "evt_1" || got.Type != "application/json" {
		t.Errorf("headers: idempotency key %q, content type %q", got.Key, got.Type)
	}

	// A receiver holding another secret refuses the request: the hook's
	// signature really depends on the secret.
	_, err = newHook(t, "webhook+"+srv.URL, "another-secret").Bookmark(context.Background(), "cam-1", "door.opened", at, "evt_2")
	if !errors.Is(err, camera.ErrRejected) || errors.Is(err, camera.ErrUnreachable) {
		t.Fatalf("wrong secret: err = %v, want ErrRejected (HTTP 401)", err)
	}
}

func TestWebhookSignatureRejectsTampering(t *testing.T) {
	var header string
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header, body = r.Header.Get(notify.SignatureHeader), must(io.ReadAll(r.Body))
		io.WriteString(w, `{"id":"x"}`)
	}))
	defer srv.Close()
	if _, err := newHook(t, "webhook+"+srv.URL, "k").Bookmark(context.Background(), "cam", "alarm.forced_open", at, "evt_9"); err != nil {
		t.Fatal(err)
	}
	if err := notify.VerifyWebhook(header, body, at, 0, []byte("k")); err != nil {
		t.Fatalf("untouched: %v", err)
	}
	tampered := []byte(strings.Replace(string(body), "evt_9", "evt_8", 1))
	if err := notify.VerifyWebhook(header, tampered, at, 0, []byte("k")); !errors.Is(err, notify.ErrWebhookSignature) {
		t.Errorf("tampered body: err = %v, want ErrWebhookSignature", err)
	}
	if err := notify.VerifyWebhook(header, body, at.Add(time.Hour), 0, []byte("k")); !errors.Is(err, notify.ErrWebhookStale) {
		t.Errorf("replayed an hour later: err = %v, want ErrWebhookStale", err)
	}
}

func TestFrigateCreatesManualEvent(t *testing.T) {
	var path, auth string
	var req map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method", http.StatusMethodNotAllowed)
			return
		}
		path, auth = r.URL.EscapedPath(), r.Header.Get("Authorization")
		json.NewDecoder(r.Body).Decode(&req)
		io.WriteString(w, `{"success": true, "message": "Successfully created event.", "event_id": "1732352400.123456-ab12cd"}`)
	}))
	defer srv.Close()

	id, err := newHook(t, "frigate+"+srv.URL, "").Bookmark(context.Background(), "locker_front", "door.opened", at, "evt_7")
	if err != nil {
		t.Fatal(err)
	}
	if id != "1732352400.123456-ab12cd" {
		t.Errorf("id = %q", id)
	}
	if path != "/api/events/locker_front/door.opened/create" {
		t.Errorf("path = %q", path)
	}
	if auth != "" {
		t.Errorf("no token configured, but Authorization = %q", auth)
	}
	if req["sub_label"] != "evt_7" || req["source_type"] != "api" || req["include_recording"] != true || req["duration"] != float64(camera.FrigateDuration) {
		t.Errorf("body = %v", req)
	}

	// A base path and a bearer token for an authenticated port; names that
	// need escaping stay one path segment.
	if _, err := newHook(t, "frigate+"+srv.URL+"/nvr", "tok").Bookmark(context.Background(), "cam 2", "alarm?x", at, "evt_8"); err != nil {
		t.Fatal(err)
	}
	if path != "/nvr/api/events/cam%202/alarm%3Fx/create" || auth != "Bearer tok" {
		t.Errorf("path = %q, auth = %q", path, auth)
	}
}

func TestBadAnswersAreRejectedWithoutRetry(t *testing.T) {
	cases := []struct {
		name, kind string
		status     int
		body       string
	}{
		{"webhook 400", "webhook", 400, `{"error":"bad"}`},
		{"webhook 404", "webhook", 404, ``},
		{"webhook not JSON", "webhook", 200, `<html>ok</html>`},
		{"webhook no id", "webhook", 200, `{"ok":true}`},
		{"webhook empty id", "webhook", 200, `{"id":""}`},
		{"webhook id with control characters", "webhook", 200, `{"id":"a\u0000b"}`},
		{"webhook id too long", "webhook", 200, `{"id":"` + strings.Repeat("x", 201) + `"}`},
		{"webhook huge answer", "webhook", 200, `{"id":"x","pad":"` + strings.Repeat("x", 70<<10) + `"}`},
		{"frigate unknown camera", "frigate", 404, `{"success": false, "message": "front is not a valid camera."}`},
		{"frigate success false", "frigate", 200, `{"success": false, "message": "Event not created"}`},
		{"frigate no event id", "frigate", 200, `{"success": true, "message": "ok"}`},
		{"frigate id of wrong type", "frigate", 200, `{"success": true, "event_id": 12}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			}))
			defer srv.Close()
			_, err := newHook(t, c.kind+"+"+srv.URL, "k").Bookmark(context.Background(), "cam", "door.opened", at, "evt_1")
			if !errors.Is(err, camera.ErrRejected) {
				t.Fatalf("err = %v, want ErrRejected", err)
			}
			if errors.Is(err, camera.ErrUnreachable) || !camera.Unrecorded(err) {
				t.Errorf("err = %v: must be unrecorded but not unreachable", err)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("%d calls, want 1 (no retry for a refusal)", n)
			}
		})
	}
}

func TestUnreachableCamera(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more: connection refused
	for _, kind := range []string{"webhook", "frigate"} {
		_, err := newHook(t, kind+"+http://"+addr, "k").Bookmark(context.Background(), "cam", "door.opened", at, "evt_1")
		var ue *camera.UnreachableError
		if !errors.As(err, &ue) || !errors.Is(err, camera.ErrUnreachable) {
			t.Fatalf("%s: err = %v, want *UnreachableError", kind, err)
		}
		if ue.Camera != "cam" || ue.Attempts != camera.DefaultAttempts {
			t.Errorf("%s: %+v", kind, ue)
		}
		if strings.Contains(err.Error(), "http://"+addr) {
			t.Errorf("%s: error %q repeats the URL", kind, err)
		}
	}
}

func TestSlowCameraTimesOutAfterBoundedAttempts(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select { // slower than the hook's timeout
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	_, err := newHook(t, "frigate+"+srv.URL, "").Bookmark(context.Background(), "cam", "door.opened", at, "evt_1")
	if !errors.Is(err, camera.ErrUnreachable) {
		t.Fatalf("err = %v, want unreachable", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the timeout as cause", err)
	}
	if n := calls.Load(); n != camera.DefaultAttempts {
		t.Errorf("%d attempts, want %d", n, camera.DefaultAttempts)
	}
	// Bounded: 3 attempts of 200 ms and two short pauses, far below the
	// 10 s a hung camera would otherwise cost (a loose bound, not a benchmark).
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			io.WriteString(w, `{"id":"bm-3"}`)
		}
	}))
	defer srv.Close()
	id, err := newHook(t, "webhook+"+srv.URL, "k").Bookmark(context.Background(), "cam", "door.opened", at, "evt_1")
	if err != nil || id != "bm-3" {
		t.Fatalf("id, err = %q, %v", id, err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d calls, want 3", calls.Load())
	}

	// A camera that keeps failing with 5xx is unreachable, not rejected.
	srv500 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) }))
	defer srv500.Close()
	_, err = newHook(t, "webhook+"+srv500.URL, "k").Bookmark(context.Background(), "cam", "door.opened", at, "evt_1")
	if !errors.Is(err, camera.ErrUnreachable) || errors.Is(err, camera.ErrRejected) {
		t.Errorf("persistent 502: err = %v", err)
	}
}

func TestCancelledContextStopsRetrying(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(503)
	}))
	defer srv.Close()
	cfg, _ := camera.ParseConfig("webhook+"+srv.URL, "k")
	cfg.Backoff = time.Hour // a retry would wait for ever
	b, _ := camera.New(cfg, parcelguard.SystemClock{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := b.Bookmark(ctx, "cam", "door.opened", at, "evt_1"); !errors.Is(err, camera.ErrUnreachable) {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls after cancel, want 1", calls.Load())
	}
}

func TestInvalidRequestsNeverLeave(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer srv.Close()
	b := newHook(t, "frigate+"+srv.URL, "")
	for _, c := range []struct{ cam, label, evt string }{
		{"", "door.opened", "evt"}, {"cam", "", "evt"}, {"cam", "door", ""}, {"..", "door", "evt"},
		{"cam", "a/b", "evt"}, {"cam\n", "door", "evt"}, {strings.Repeat("c", 101), "door", "evt"},
	} {
		if _, err := b.Bookmark(context.Background(), c.cam, c.label, at, c.evt); !errors.Is(err, camera.ErrInvalid) {
			t.Errorf("%q/%q/%q: err = %v, want ErrInvalid", c.cam, c.label, c.evt, err)
		}
	}
	if calls.Load() != 0 {
		t.Errorf("%d requests sent for invalid input", calls.Load())
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
