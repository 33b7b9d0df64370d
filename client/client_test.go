package client_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/client"
	"github.com/parcelguard/parcelguard/code"
	pghttp "github.com/parcelguard/parcelguard/http"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// env is the real API on a real SQLite store, reached through the client.
type env struct {
	ctx   context.Context
	clock *parcelguard.ManualClock
	svc   *service.Service
	url   string
	admin *client.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "pg.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	keys, err := code.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	clock := parcelguard.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	svc := service.New(service.Config{Store: store, Clock: clock, Keys: keys})
	srv := httptest.NewServer(pghttp.NewServer(pghttp.Config{Service: svc, Store: store, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	token, _, err := svc.CreateAPIKey(ctx, parcelguard.System, service.NewAPIKeyInput{Role: parcelguard.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := client.New(srv.URL, client.WithToken(token), client.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return &env{ctx: ctx, clock: clock, svc: svc, url: srv.URL, admin: admin}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestLifecycle(t *testing.T) {
	// Ensure the client drives a parcel's whole life through the API, for
	// every role: set-up, announce, list, reserve, deposit, track, extend,
	// pick up by QR and by PIN, expire, collect, return.
	e := newEnv(t)
	ctx := e.ctx
	key := func(in client.NewAPIKey) *client.Client {
		k := must[*client.APIKeyCreated](t)(e.admin.CreateAPIKey(ctx, in))
		return e.admin.WithToken(k.Token)
	}
	ops := key(client.NewAPIKey{Role: "operator"})
	site := must[*client.Site](t)(ops.CreateSite(ctx, client.NewSite{Name: "Warsaw Central", Address: "Aleje Jerozolimskie 54",
		Lat: 52.2288, Lon: 21.0031, TimeZone: "Europe/Warsaw", OpeningHours: "24/7"}))
	if got := must[*client.Site](t)(ops.Site(ctx, site.ID)); got.Name != site.Name {
		t.Fatalf("site %+v", got)
	}
	for _, label := range []string{"A1", "A2", "A3"} {
		must[*client.Compartment](t)(ops.AddCompartment(ctx, site.ID, client.NewCompartment{Label: label, Size: "M"}))
	}
	cs := must[[]client.Compartment](t)(ops.Compartments(ctx, site.ID))
	if len(cs) != 3 {
		t.Fatalf("compartments %+v", cs)
	}
	if c := must[*client.Compartment](t)(ops.SetCompartmentState(ctx, cs[2].ID, client.CompartmentBlocked)); c.State != "blocked" {
		t.Fatalf("compartment %+v", c)
	}
	carrier := must[*client.Carrier](t)(ops.CreateCarrier(ctx, client.NewCarrier{Name: "PostNord"}))
	if !carrier.PhoneFactor {
		t.Fatal("phone factor off by default")
	}
	shop := key(client.NewAPIKey{Role: "carrier", CarrierID: carrier.ID})
	courier := key(client.NewAPIKey{Role: "courier", CarrierID: carrier.ID})
	kiosk := key(client.NewAPIKey{Role: "kiosk", SiteID: site.ID})

	var ids []string
	for i := range 5 {
		x := must[*client.Parcel](t)(shop.AnnounceParcel(ctx, client.NewParcel{TrackingNumber: "PG-800" + string(rune('0'+i)), Size: "S", SiteID: site.ID,
			Recipient: client.Recipient{Name: "Anna Nowak", Phone: "+48600100200"}}))
		ids = append(ids, x.ID)
		e.clock.Advance(time.Millisecond)
	}
	var listed []string
	for p, err := range shop.Parcels(ctx, client.ParcelQuery{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, p.ID)
	}
	if strings.Join(listed, ",") != strings.Join(ids, ",") {
		t.Fatalf("iterated %v, want %v", listed, ids)
	}

	// Parcel 0: deposit, track, extend, QR pickup.
	must[*client.Parcel](t)(courier.Reserve(ctx, ids[0]))
	x := must[*client.Parcel](t)(courier.Deposit(ctx, ids[0]))
	if x.State != "deposited" {
		t.Fatalf("parcel %+v", x)
	}
	recipient := e.admin.WithToken(must[string](t)(e.svc.RecipientLink(ctx, x.ID)))
	tr := must[*client.Tracking](t)(recipient.Track(ctx))
	if tr.State != "deposited" || tr.Locker == nil || tr.Locker.Name != site.Name || !tr.CanExtend {
		t.Fatalf("tracking %+v", tr)
	}
	tr = must[*client.Tracking](t)(recipient.ExtendDeadline(ctx))
	if !tr.DeadlineExtended || !tr.Deadline.Equal(x.Deadline.Add(24*time.Hour)) {
		t.Fatalf("extended %+v", tr)
	}
	codes := must[*client.PickupCode](t)(recipient.TrackCode(ctx))
	res := must[*client.PickupResult](t)(kiosk.PickupQR(ctx, site.ID, codes.QRToken))
	if res.ParcelID != x.ID {
		t.Fatalf("pickup %+v", res)
	}
	_, err := kiosk.PickupQR(ctx, site.ID, codes.QRToken)
	var perr *client.Error
	if !errors.As(err, &perr) || perr.Status != 403 || perr.Code != "rejected" || !errors.Is(err, client.ErrRejected) {
		t.Fatalf("second QR pickup: %v", err)
	}

	// Parcel 1: PIN pickup, with a wrong phone first.
	must[*client.Parcel](t)(courier.Reserve(ctx, ids[1]))
	must[*client.Parcel](t)(courier.Deposit(ctx, ids[1]))
	pin := must[*client.PickupCode](t)(e.admin.WithToken(must[string](t)(e.svc.RecipientLink(ctx, ids[1]))).TrackCode(ctx)).PIN
	if _, err := kiosk.Pickup(ctx, site.ID, pin, "9999"); !errors.Is(err, client.ErrRejected) {
		t.Fatalf("wrong phone: %v", err)
	}
	must[*client.PickupResult](t)(kiosk.Pickup(ctx, site.ID, pin, "0200"))

	// Parcel 2: expires, collected, returned.
	must[*client.Parcel](t)(courier.Reserve(ctx, ids[2]))
	must[*client.Parcel](t)(courier.Deposit(ctx, ids[2]))
	e.clock.Advance(73 * time.Hour)
	must[int](t)(e.svc.FireDueTimers(ctx))
	queue := must[[]client.Parcel](t)(courier.ReturnQueue(ctx, site.ID))
	if len(queue) != 1 || queue[0].ID != ids[2] {
		t.Fatalf("return queue %+v", queue)
	}
	must[*client.Parcel](t)(courier.Collect(ctx, ids[2]))
	if p := must[*client.Parcel](t)(courier.MarkReturned(ctx, ids[2])); p.State != "returned" {
		t.Fatalf("parcel %+v", p)
	}

	// Parcel 3: cancelled; its events tell the story.
	if p := must[*client.Parcel](t)(shop.CancelParcel(ctx, ids[3])); p.State != "cancelled" {
		t.Fatalf("parcel %+v", p)
	}
	events := must[[]client.Event](t)(shop.ParcelEvents(ctx, ids[3]))
	if len(events) != 2 || events[1].Kind != "parcel.cancelled" {
		t.Fatalf("events %+v", events)
	}
	if p := must[*client.Parcel](t)(shop.Parcel(ctx, ids[0])); p.State != "picked_up" {
		t.Fatalf("parcel %+v", p)
	}
	page := must[*client.Page[client.Parcel]](t)(shop.ListParcels(ctx, client.ParcelQuery{State: "picked_up"}))
	if len(page.Items) != 2 {
		t.Fatalf("picked up %+v", page.Items)
	}

	// Errors are problems, usable with errors.As and errors.Is.
	_, err = shop.AnnounceParcel(ctx, client.NewParcel{TrackingNumber: "x", Size: "XXL"})
	if !errors.As(err, &perr) || perr.Status != 422 || len(perr.Fields) == 0 || !errors.Is(err, client.ErrInvalid) {
		t.Fatalf("invalid announce: %v", err)
	}
	if _, err := shop.Parcel(ctx, "par_nope"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("missing parcel: %v", err)
	}
	if _, err := courier.CreateSite(ctx, client.NewSite{Name: "X", Address: "Y"}); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("courier creates site: %v", err)
	}
	if _, err := e.admin.WithToken("pgk_nope").Track(ctx); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("bad link: %v", err)
	}
	h := must[*client.Health](t)(e.admin.Readyz(ctx))
	if h.Status != "ready" {
		t.Fatalf("readyz %+v", h)
	}

	// Every POST carried an Idempotency-Key, so replaying one is possible
	// with an explicit key.
	var replayed bool
	k := client.NewIdempotencyKey()
	a := must[*client.Parcel](t)(shop.AnnounceParcel(ctx, client.NewParcel{TrackingNumber: "PG-8100", Size: "S", SiteID: site.ID,
		Recipient: client.Recipient{Name: "A", Phone: "+48600100201"}}, client.IdempotencyKey(k)))
	b := must[*client.Parcel](t)(shop.AnnounceParcel(ctx, client.NewParcel{TrackingNumber: "PG-8100", Size: "S", SiteID: site.ID,
		Recipient: client.Recipient{Name: "A", Phone: "+48600100201"}}, client.IdempotencyKey(k), client.Replayed(&replayed)))
	if a.ID != b.ID || !replayed {
		t.Fatalf("replay gave %s (replayed %v), want %s", b.ID, replayed, a.ID)
	}
}

// fakeAPI answers with the statuses in order, recording each request.
type fakeAPI struct {
	statuses []int
	header   http.Header
	calls    atomic.Int32
	mu       sync.Mutex
	keys     []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(f.calls.Add(1)) - 1
	f.mu.Lock()
	f.keys = append(f.keys, r.Header.Get("Idempotency-Key"))
	f.mu.Unlock()
	status := f.statuses[min(n, len(f.statuses)-1)]
	for k, v := range f.header {
		w.Header()[k] = v
	}
	if status >= 300 {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		io.WriteString(w, `{"type":"https://parcelguard.dev/problems/unavailable","title":"T","status":503,"detail":"down"}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"id":"par_1","state":"announced"}`)
}

func fakeClient(t *testing.T, f http.Handler, opts ...client.Option) *client.Client {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	opts = append([]client.Option{client.WithToken("pgk_test"),
		client.WithRetry(client.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryAfter: 2 * time.Second})}, opts...)
	c, err := client.New(srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRetry(t *testing.T) {
	// Ensure a POST is retried on 503 with the same Idempotency-Key, and
	// that retries are bounded.
	t.Run("SameKey", func(t *testing.T) {
		f := &fakeAPI{statuses: []int{503, 503, 200}}
		c := fakeClient(t, f)
		if _, err := c.AnnounceParcel(t.Context(), client.NewParcel{}); err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.calls.Load() != 3 || f.keys[0] == "" || f.keys[0] != f.keys[1] || f.keys[1] != f.keys[2] {
			t.Fatalf("%d calls with keys %v", f.calls.Load(), f.keys)
		}
	})
	t.Run("Bounded", func(t *testing.T) {
		f := &fakeAPI{statuses: []int{503}}
		c := fakeClient(t, f)
		_, err := c.Parcel(t.Context(), "par_1")
		var perr *client.Error
		if !errors.As(err, &perr) || perr.Status != 503 || perr.Detail != "down" || f.calls.Load() != 3 {
			t.Fatalf("err %v after %d calls", err, f.calls.Load())
		}
	})
	// Ensure a PATCH (no Idempotency-Key) is not retried on 503, but is on
	// 429, which the server answers before doing anything.
	t.Run("NotIdempotent", func(t *testing.T) {
		f := &fakeAPI{statuses: []int{503, 200}}
		if _, err := fakeClient(t, f).SetCompartmentState(t.Context(), "cmp_1", "free"); err == nil || f.calls.Load() != 1 {
			t.Fatalf("err %v after %d calls", err, f.calls.Load())
		}
		f = &fakeAPI{statuses: []int{429, 200}}
		if _, err := fakeClient(t, f).SetCompartmentState(t.Context(), "cmp_1", "free"); err != nil || f.calls.Load() != 2 {
			t.Fatalf("err %v after %d calls", err, f.calls.Load())
		}
	})
	// Ensure a DELETE, idempotent in this API, is retried on 503; and a
	// conditional PATCH names the version it changes and is not retried.
	t.Run("Delete", func(t *testing.T) {
		f := &fakeAPI{statuses: []int{503, 200}}
		if _, err := fakeClient(t, f).DecommissionSite(t.Context(), "site_1"); err != nil || f.calls.Load() != 2 {
			t.Fatalf("err %v after %d calls", err, f.calls.Load())
		}
		var ifMatch []string
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ifMatch = append(ifMatch, r.Header.Get("If-Match"))
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"type":"https://parcelguard.dev/problems/unavailable","title":"T","status":503}`)
		})
		c := fakeClient(t, h)
		c.UpdateSite(t.Context(), "site_1", 7, client.SiteUpdate{})
		c.UpdateCarrier(t.Context(), "car_1", client.AnyVersion, client.CarrierUpdate{})
		if !slices.Equal(ifMatch, []string{`"7"`, "*"}) {
			t.Fatalf("If-Match sent %q, want \"7\" then * and no retries", ifMatch)
		}
	})
	// Ensure Retry-After is honoured, and one longer than the policy allows
	// is returned at once.
	t.Run("RetryAfter", func(t *testing.T) {
		f := &fakeAPI{statuses: []int{429, 200}, header: http.Header{"Retry-After": {"1"}}}
		start := time.Now()
		if _, err := fakeClient(t, f).Parcel(t.Context(), "par_1"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < time.Second {
			t.Fatalf("retried after %v, before Retry-After", d)
		}
		f = &fakeAPI{statuses: []int{429, 200}, header: http.Header{"Retry-After": {"30"}}}
		_, err := fakeClient(t, f).Parcel(t.Context(), "par_1")
		var perr *client.Error
		if !errors.As(err, &perr) || perr.RetryAfter != 30*time.Second || f.calls.Load() != 1 {
			t.Fatalf("err %v after %d calls", err, f.calls.Load())
		}
	})
	// Ensure a dropped connection is retried for a GET.
	t.Run("ConnectionError", func(t *testing.T) {
		var calls atomic.Int32
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
			io.WriteString(w, `{"id":"par_1"}`)
		})
		p, err := fakeClient(t, h).Parcel(t.Context(), "par_1")
		if err != nil || p.ID != "par_1" || calls.Load() != 2 {
			t.Fatalf("parcel %+v, err %v after %d calls", p, err, calls.Load())
		}
	})
	// Ensure a cancelled context stops the retries.
	t.Run("Context", func(t *testing.T) {
		f := &fakeAPI{statuses: []int{503}}
		c := fakeClient(t, f, client.WithRetry(client.RetryPolicy{MaxAttempts: 100, BaseDelay: time.Hour, MaxDelay: time.Hour}))
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, err := c.Parcel(ctx, "par_1"); err == nil || f.calls.Load() != 1 {
			t.Fatalf("err %v after %d calls", err, f.calls.Load())
		}
	})
}

func TestNew(t *testing.T) {
	for _, bad := range []string{"", "localhost:8080", "ftp://x", "http://"} {
		if _, err := client.New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}
