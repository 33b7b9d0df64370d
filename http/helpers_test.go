package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	pghttp "github.com/parcelguard/parcelguard/http"
	"github.com/parcelguard/parcelguard/internal/pgtest"
	"github.com/parcelguard/parcelguard/metrics"
	"github.com/parcelguard/parcelguard/postgres"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// manualClock is a clock tests move by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines to log into.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// faultStore is the real store with a switch that makes writes fail, to
// reach the internal-error path.
type faultStore struct {
	parcelguard.Store
	failUpdates atomic.Bool
}

// errDiskOnFire is what a failing write returns; its text must never reach
// a client.
var errDiskOnFire = errors.New("disk on fire at /var/lib/parcelguard/pg.db")

func (s *faultStore) Update(ctx context.Context, fn func(tx parcelguard.Tx) error) error {
	if s.failUpdates.Load() {
		return errDiskOnFire
	}
	return s.Store.Update(ctx, fn)
}

// env is a running API on a real store (SQLite unless a test asks for
// PostgreSQL).
type env struct {
	t       testing.TB
	store   parcelguard.Store
	faults  *faultStore
	clock   *manualClock
	svc     *service.Service
	keys    *code.Keyring
	handler *pghttp.Server
	srv     *httptest.Server
	logs    *syncBuffer
	admin   string // an admin API token
	// extra are headers the next request sends (see doWith).
	extra map[string]string
}

// Store engines the end-to-end tests run on.
const (
	engineSQLite   = "sqlite"
	enginePostgres = "postgres"
)

// eachEngine runs fn as a subtest on every store engine.
func eachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, engine := range []string{engineSQLite, enginePostgres} {
		t.Run(engine, func(t *testing.T) { fn(t, engine) })
	}
}

// openStore opens a fresh store of the engine, closed at cleanup.
func openStore(tb testing.TB, engine string) parcelguard.Store {
	tb.Helper()
	ctx := context.Background()
	var (
		store parcelguard.Store
		err   error
	)
	switch engine {
	case engineSQLite:
		store, err = sqlite.Open(ctx, filepath.Join(tb.TempDir(), "pg.db"))
	case enginePostgres:
		store, err = postgres.Open(ctx, pgtest.URLFrom(tb, "migrated", func(url string) error {
			_, err := postgres.Migrate(ctx, url)
			return err
		}))
	default:
		tb.Fatalf("unknown engine %q", engine)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return store
}

// newEnv starts the API on a fresh SQLite database; see newEnvOn.
func newEnv(tb testing.TB, opts ...func(*pghttp.Config)) *env {
	tb.Helper()
	return newEnvOn(tb, engineSQLite, opts...)
}

// newEnvOn starts the API on a fresh database of the engine and creates
// an admin key the way `parcelguard admin` would: as the system principal.
func newEnvOn(tb testing.TB, engine string, opts ...func(*pghttp.Config)) *env {
	tb.Helper()
	ctx := context.Background()
	store := openStore(tb, engine)
	keys, err := code.GenerateKeyring()
	if err != nil {
		tb.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := newManualClock()
	faults := &faultStore{Store: store}
	svc := service.New(service.Config{Store: faults, Clock: clock, Keys: keys, Metrics: m, Logger: logger})
	cfg := pghttp.Config{
		Service:  svc,
		Store:    faults,
		Metrics:  m,
		Gatherer: reg,
		Logger:   logger,
		Version:  "test",
	}
	for _, o := range opts {
		o(&cfg)
	}
	h := pghttp.NewServer(cfg)
	srv := httptest.NewServer(h)
	tb.Cleanup(svc.WaitAnswers) // after the server closes, before the store does
	tb.Cleanup(srv.Close)
	e := &env{t: tb, store: store, faults: faults, clock: clock, svc: svc, keys: keys, handler: h, srv: srv, logs: logs}
	token, _, err := svc.CreateAPIKey(ctx, parcelguard.System, service.NewAPIKeyInput{Role: parcelguard.RoleAdmin, Name: "test admin"})
	if err != nil {
		tb.Fatal(err)
	}
	e.admin = token
	return e
}

// response is an HTTP answer read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into v, failing the test if it does not parse.
func (r response) decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request with an optional bearer token and JSON body (a string
// is sent verbatim, anything else marshalled).
func (e *env) do(method, path, token string, body any) response {
	e.t.Helper()
	var data []byte
	switch b := body.(type) {
	case nil:
		return doRaw(e.t, e, method, path, bearer(token), "", "")
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	return doRaw(e.t, e, method, path, bearer(token), "application/json", string(data))
}

func bearer(token string) string {
	if token == "" {
		return ""
	}
	return "Bearer " + token
}

// doWith is do with extra request headers.
func (e *env) doWith(hdr map[string]string, method, path, token string, body any) response {
	e.t.Helper()
	e.extra = hdr
	defer func() { e.extra = nil }()
	return e.do(method, path, token, body)
}

// mustWith is must with extra request headers.
func (e *env) mustWith(hdr map[string]string, want int, method, path, token string, body any) response {
	e.t.Helper()
	r := e.doWith(hdr, method, path, token, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// anyVersion is the If-Match of a change meant for whatever is current.
var anyVersion = map[string]string{"If-Match": "*"}

// doRaw sends body with the given content type (none if empty) and
// Authorization header (none if empty), and e's extra headers.
func doRaw(tb testing.TB, e *env, method, path, authorization, contentType, body string) response {
	tb.Helper()
	var rd io.Reader
	if contentType != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	for k, v := range e.extra {
		req.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// must sends a request and fails the test unless the status is want.
func (e *env) must(want int, method, path, token string, body any) response {
	e.t.Helper()
	r := e.do(method, path, token, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// world is a site with compartments, a carrier and keys for every role.
type world struct {
	site         pghttp.Site
	compartments []pghttp.Compartment
	carrier      pghttp.Carrier
	operator     string
	carrierKey   string
	courier      string
	kiosk        string
	// other is a second carrier's key, to test isolation between carriers.
	other string
}

// newWorld builds a world through the API itself.
func newWorld(e *env) *world {
	e.t.Helper()
	w := &world{}
	w.operator = createKey(e, map[string]any{"role": "operator", "name": "ops"})
	e.must(201, "POST", "/v1/sites", w.operator, map[string]any{
		"name": "Warsaw Central", "address": "Aleje Jerozolimskie 54", "lat": 52.2288, "lon": 21.0031,
		"time_zone": "Europe/Warsaw",
	}).decode(e.t, &w.site)
	for _, c := range []struct{ label, size string }{{"A1", "S"}, {"A2", "M"}, {"B1", "L"}} {
		var cmp pghttp.Compartment
		e.must(201, "POST", "/v1/sites/"+w.site.ID+"/compartments", w.operator,
			map[string]any{"label": c.label, "size": c.size}).decode(e.t, &cmp)
		w.compartments = append(w.compartments, cmp)
	}
	e.must(201, "POST", "/v1/carriers", w.operator, map[string]any{"name": "PostNord"}).decode(e.t, &w.carrier)
	w.carrierKey = createKey(e, map[string]any{"role": "carrier", "carrier_id": w.carrier.ID, "name": "shop"})
	w.courier = createKey(e, map[string]any{"role": "courier", "carrier_id": w.carrier.ID, "name": "van 7"})
	w.kiosk = createKey(e, map[string]any{"role": "kiosk", "site_id": w.site.ID, "name": "kiosk"})

	var other pghttp.Carrier
	e.must(201, "POST", "/v1/carriers", w.operator, map[string]any{"name": "Other Express"}).decode(e.t, &other)
	w.other = createKey(e, map[string]any{"role": "carrier", "carrier_id": other.ID})
	return w
}

func createKey(e *env, body map[string]any) string {
	e.t.Helper()
	var k pghttp.APIKeyCreated
	e.must(201, "POST", "/v1/api-keys", e.admin, body).decode(e.t, &k)
	if k.Token == "" || k.Warning == "" {
		e.t.Fatalf("api key response lacks token or warning: %+v", k)
	}
	return k.Token
}

// announce announces a locker parcel for the world's site as its carrier.
func (w *world) announce(e *env, tracking string) pghttp.Parcel {
	e.t.Helper()
	var x pghttp.Parcel
	e.must(201, "POST", "/v1/parcels", w.carrierKey, map[string]any{
		"tracking_number": tracking,
		"recipient":       map[string]any{"name": "Anna Nowak", "phone": "+48600100200", "email": "anna@example.com", "language": "pl"},
		"size":            "S",
		"site_id":         w.site.ID,
	}).decode(e.t, &x)
	return x
}

// deposit announces, reserves and deposits a parcel and returns it with its
// PIN, read the way only the recipient's channels may.
func (w *world) deposit(e *env, tracking string) (pghttp.Parcel, string) {
	e.t.Helper()
	x := w.announce(e, tracking)
	e.must(200, "POST", "/v1/parcels/"+x.ID+"/reserve", w.courier, nil)
	e.must(200, "POST", "/v1/parcels/"+x.ID+"/deposit", w.courier, nil).decode(e.t, &x)
	pin, _, err := e.svc.PickupCode(context.Background(), x.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return x, pin
}

// problem is the decoded shape of a problem+json body.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

// mustProblem checks r is a problem+json of the given status and code.
func mustProblem(tb testing.TB, r response, status int, code string) problem {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		tb.Fatalf("Content-Type %q, want application/problem+json: %s", ct, r.body)
	}
	var p problem
	r.decode(tb, &p)
	if want := "https://parcelguard.dev/problems/" + code; p.Type != want {
		tb.Fatalf("type %q, want %q", p.Type, want)
	}
	if p.Status != status || p.Title == "" {
		tb.Fatalf("problem status %d title %q: %s", p.Status, p.Title, r.body)
	}
	return p
}
