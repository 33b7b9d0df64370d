package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// harness is the pages on a real SQLite store with a manual clock, and a
// small network: one site, one carrier, parcels to look at.
type harness struct {
	t       *testing.T
	ctx     context.Context
	clock   *parcelguard.ManualClock
	store   parcelguard.Store
	keys    *code.Keyring
	svc     *service.Service
	h       *Handler
	mux     *http.ServeMux
	site    *parcelguard.Site
	carrier *parcelguard.Carrier
	courier parcelguard.Principal
}

func newHarness(t *testing.T, options ...func(*Config)) *harness {
	t.Helper()
	ctx := context.Background()
	keys, err := code.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "pg.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := parcelguard.NewManualClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	svc := service.New(service.Config{Store: db, Clock: clock, Keys: keys})
	cfg := Config{Service: svc, Keys: keys, Clock: clock}
	for _, o := range options {
		o(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	x := &harness{t: t, ctx: ctx, clock: clock, store: db, keys: keys, svc: svc, h: h, mux: http.NewServeMux()}
	h.Register(x.mux)
	sys := parcelguard.System
	x.site = must(svc.CreateSite(ctx, sys, parcelguard.Site{Name: "Main Station", Address: "Bahnhofplatz 1, München",
		Lat: 48.14, Lon: 11.56, TimeZone: "Europe/Berlin", OpeningHours: "24/7"}))(t)
	for i, size := range []parcelguard.SizeClass{"S", "S", "M", "L"} {
		must(svc.AddCompartment(ctx, sys, parcelguard.Compartment{SiteID: x.site.ID, Label: fmt.Sprintf("A%d", i+1), Size: size}))(t)
	}
	x.carrier = must(svc.CreateCarrier(ctx, sys, parcelguard.Carrier{Name: "Fast Parcel", PhoneFactor: true}))(t)
	x.courier = parcelguard.Principal{Role: parcelguard.RoleCourier, CarrierID: x.carrier.ID, KeyPrefix: "test"}
	return x
}

// must returns v, failing the test on err.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// parcel announces a parcel and takes it steps far: 1 reserved, 2 deposited.
func (x *harness) parcel(tracking string, steps int) *parcelguard.Parcel {
	x.t.Helper()
	cp := parcelguard.Principal{Role: parcelguard.RoleCarrier, CarrierID: x.carrier.ID, KeyPrefix: "test"}
	p := must(x.svc.Announce(x.ctx, cp, parcelguard.Parcel{TrackingNumber: tracking, Size: "S", SiteID: x.site.ID,
		Recipient: parcelguard.Recipient{Name: "Ada", Phone: "+4915112345678", Language: "de"}}))(x.t)
	if steps >= 1 {
		p = must(x.svc.Reserve(x.ctx, x.courier, p.ID))(x.t)
	}
	if steps >= 2 {
		p = must(x.svc.Deposit(x.ctx, x.courier, p.ID))(x.t)
	}
	return p
}

// browser is a cookie-keeping client of the handler that sends what a
// same-origin browser sends.
type browser struct {
	x       *harness
	cookies map[string]string
	lang    string
	// remote and header, when set, are the connection's peer address
	// and extra request headers (a reverse proxy's X-Forwarded-For).
	remote string
	header http.Header
}

func (x *harness) browser() *browser { return &browser{x: x, cookies: map[string]string{}, lang: "en"} }

// response is one answer, body read.
type response struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, target string, form url.Values) *response {
	b.x.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "http://example.com")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	r.Header.Set("Accept-Language", b.lang)
	if b.remote != "" {
		r.RemoteAddr = b.remote
	}
	for k, vs := range b.header {
		r.Header[k] = vs
	}
	for k, v := range b.cookies {
		r.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	w := httptest.NewRecorder()
	b.x.mux.ServeHTTP(w, r)
	res := w.Result()
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	out := &response{status: res.StatusCode, header: res.Header, body: w.Body.String()}
	// Every page any test renders must be sound HTML with labelled controls.
	if redirect := res.StatusCode >= 300 && res.StatusCode < 400; !redirect && strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		if p := checkHTML(out.body); len(p) > 0 {
			b.x.t.Errorf("%s %s: page defects: %v", method, target, p)
		}
	}
	return out
}

func (b *browser) get(target string) *response { return b.do(http.MethodGet, target, nil) }

// post submits form with the CSRF token of the page last rendered at from.
func (b *browser) post(from, target string, form url.Values) *response {
	b.x.t.Helper()
	page := b.get(from)
	if form == nil {
		form = url.Values{}
	}
	if form.Get(csrfField) == "" {
		form.Set(csrfField, csrfOf(b.x.t, page.body))
	}
	return b.do(http.MethodPost, target, form)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf returns the CSRF token of the first form of a page.
func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in:\n%s", body)
	}
	return m[1]
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
