package kiosk_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/kiosk"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// serviceLocker is a Locker on the real service: the kiosk principal of
// one site, with the service's errors mapped to the kiosk's.
type serviceLocker struct {
	svc   *service.Service
	site  string
	kiosk parcelguard.Principal
	calls atomic.Int32
}

func (l *serviceLocker) PickupPIN(ctx context.Context, pin, phone string) (kiosk.Result, error) {
	l.calls.Add(1)
	res, err := l.svc.Pickup(ctx, l.kiosk, l.site, pin, phone)
	return l.result(res, err)
}

func (l *serviceLocker) PickupQR(ctx context.Context, token string) (kiosk.Result, error) {
	l.calls.Add(1)
	res, err := l.svc.PickupQR(ctx, l.kiosk, l.site, token)
	return l.result(res, err)
}

func (l *serviceLocker) result(res *service.PickupResult, err error) (kiosk.Result, error) {
	var pe *parcelguard.Error
	switch {
	case err == nil:
		return kiosk.Result{CompartmentLabel: res.CompartmentLabel}, nil
	case errors.Is(err, parcelguard.ErrThrottled) && errors.As(err, &pe):
		return kiosk.Result{}, &kiosk.LockedOutError{RetryAfter: pe.RetryAfter}
	case errors.Is(err, parcelguard.ErrCodeRejected):
		return kiosk.Result{}, kiosk.ErrWrongCode
	}
	return kiosk.Result{}, err
}

// world is a kiosk in front of a real service on SQLite with one parcel.
type world struct {
	srv    *httptest.Server
	clock  *parcelguard.ManualClock
	locker *serviceLocker
	keys   *code.Keyring
	svc    *service.Service
	parcel *parcelguard.Parcel
	pin    string
	label  string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := t.Context()
	keys, err := code.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := &world{clock: parcelguard.NewManualClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)), keys: keys}
	w.svc = service.New(service.Config{Store: db, Clock: w.clock, Keys: keys})
	admin := parcelguard.Principal{Role: parcelguard.RoleAdmin, KeyPrefix: "pgk_adm"}
	site := must(w.svc.CreateSite(ctx, admin, parcelguard.Site{Name: "Main Station", Address: "Bahnhofplatz 1", Lat: 48.1, Lon: 11.5}))(t)
	cmp := must(w.svc.AddCompartment(ctx, admin, parcelguard.Compartment{SiteID: site.ID, Label: "B7", Size: parcelguard.SizeM}))(t)
	carrier := must(w.svc.CreateCarrier(ctx, admin, parcelguard.Carrier{Name: "Fast Parcel", PhoneFactor: true}))(t)
	carrierP := parcelguard.Principal{Role: parcelguard.RoleCarrier, KeyPrefix: "pgk_car", CarrierID: carrier.ID}
	courier := parcelguard.Principal{Role: parcelguard.RoleCourier, KeyPrefix: "pgk_cou", CarrierID: carrier.ID}
	p := must(w.svc.Announce(ctx, carrierP, parcelguard.Parcel{TrackingNumber: "PG-5001", Size: parcelguard.SizeS, SiteID: site.ID,
		Recipient: parcelguard.Recipient{Name: "Ada", Phone: "+4915112345678"}}))(t)
	must(w.svc.Reserve(ctx, courier, p.ID))(t)
	w.parcel = must(w.svc.Deposit(ctx, courier, p.ID))(t)
	w.pin, _, err = w.svc.PickupCode(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	w.label = cmp.Label
	w.locker = &serviceLocker{svc: w.svc, site: site.ID,
		kiosk: parcelguard.Principal{Role: parcelguard.RoleKiosk, KeyPrefix: "pgk_kio", SiteID: site.ID}}
	w.srv = newKiosk(t, w.locker, w.clock)
	return w
}

func newKiosk(t *testing.T, l kiosk.Locker, clock parcelguard.Clock) *httptest.Server {
	t.Helper()
	h, err := kiosk.New(kiosk.Config{Locker: l, SiteName: "Main Station", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// page is a fetched page: status, headers, body and parsed tree.
type page struct {
	status int
	header http.Header
	body   string
	doc    *html.Node
}

func get(t *testing.T, srv *httptest.Server, path string) *page {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func read(t *testing.T, resp *http.Response) *page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := &page{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if p.doc, err = html.Parse(strings.NewReader(p.body)); err != nil {
			t.Fatalf("parse: %v", err)
		}
	}
	return p
}

// post submits form to path the way the page's form would (same origin).
func post(t *testing.T, srv *httptest.Server, path string, form url.Values) *page {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

// token reads the form token of a page.
func token(t *testing.T, p *page) string {
	t.Helper()
	for n := range p.doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") == "token" {
			return attr(n, "value")
		}
	}
	t.Fatal("no form token on the page")
	return ""
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// status returns the text of the live region.
func status(t *testing.T, p *page) string {
	t.Helper()
	for n := range p.doc.Descendants() {
		if n.Type == html.ElementNode && attr(n, "id") == "status" {
			if live := attr(n, "aria-live"); live != "polite" && live != "assertive" {
				t.Fatalf("status region has aria-live %q", live)
			}
			return strings.Join(strings.Fields(textOf(n)), " ")
		}
	}
	t.Fatal("no live region")
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data + " ")
		}
	}
	return b.String()
}

func TestPickupByPIN(t *testing.T) {
	w := newWorld(t)
	start := get(t, w.srv, "/en/")
	if start.status != 200 || status(t, start) != "" {
		t.Fatalf("start page %d, status %q", start.status, status(t, start))
	}
	res := post(t, w.srv, "/en/pin", url.Values{"token": {token(t, start)}, "pin": {w.pin}, "phone": {"5678"}})
	if res.status != 200 {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	if got, want := status(t, res), "Compartment "+w.label+" is open. Please take your parcel and close the door."; got != want {
		t.Fatalf("live region %q, want %q", got, want)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("result page Cache-Control %q", cc)
	}
	if strings.Contains(res.body, w.pin) {
		t.Error("result page repeats the PIN")
	}
	x := must(w.svc.Parcel(t.Context(), parcelguard.System, w.parcel.ID))(t)
	if x.State != parcelguard.ParcelPickedUp {
		t.Fatalf("parcel %s", x.State)
	}
}

func TestPickupByQR(t *testing.T) {
	w := newWorld(t)
	_, g, err := w.svc.PickupCode(t.Context(), w.parcel.ID)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := notify.PickupToken(w.keys, g)
	if err != nil {
		t.Fatal(err)
	}
	start := get(t, w.srv, "/pl/")
	// A scanner types the token and a newline.
	res := post(t, w.srv, "/pl/qr", url.Values{"token": {token(t, start)}, "qr": {tok + "\n"}})
	if res.status != 200 || status(t, res) != "Skrytka "+w.label+" jest otwarta. Wyjmij paczkę i zamknij drzwiczki." {
		t.Fatalf("%d %q", res.status, status(t, res))
	}
	// The same token again: refused.
	res = post(t, w.srv, "/pl/qr", url.Values{"token": {token(t, start)}, "qr": {tok}})
	if res.status != http.StatusUnprocessableEntity || !strings.HasPrefix(status(t, res), "Kod nie został przyjęty") {
		t.Fatalf("reused QR: %d %q", res.status, status(t, res))
	}
}

// Ensure wrong codes get the wrong-code message (never saying which part
// was wrong) and the locker's lockout the retry-after message.
func TestWrongCodeAndLockout(t *testing.T) {
	w := newWorld(t)
	wrong := fmt.Sprintf("%06d", (mustAtoi(w.pin)+1)%1000000)
	var sawWrong bool
	for i := range 10 {
		start := get(t, w.srv, "/de/")
		res := post(t, w.srv, "/de/pin", url.Values{"token": {token(t, start)}, "pin": {wrong}, "phone": {"5678"}})
		switch res.status {
		case http.StatusUnprocessableEntity:
			if got := status(t, res); !strings.HasPrefix(got, "Der Code wurde nicht angenommen") {
				t.Fatalf("attempt %d: %q", i, got)
			}
			if strings.Contains(res.body, wrong) {
				t.Fatal("the failed page repeats the code")
			}
			sawWrong = true
		case http.StatusTooManyRequests:
			if !sawWrong {
				t.Fatal("locked out before any wrong-code message")
			}
			got := status(t, res)
			if !regexp.MustCompile(`^Zu viele falsche Versuche\. Bitte versuchen Sie es in (\d+ Sekunden|1 Minute|\d+ Minuten) erneut oder scannen Sie den QR-Code aus Ihrer Nachricht\.$`).MatchString(got) {
				t.Fatalf("lockout message %q", got)
			}
			if ra := res.header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Fatalf("Retry-After %q", ra)
			}
			// Even the right code waits while the locker is locked.
			res = post(t, w.srv, "/de/pin", url.Values{"token": {token(t, start)}, "pin": {w.pin}, "phone": {"5678"}})
			if res.status != http.StatusTooManyRequests {
				t.Fatalf("right code during lockout: %d", res.status)
			}
			return
		default:
			t.Fatalf("attempt %d: status %d %q", i, res.status, status(t, res))
		}
	}
	t.Fatal("never locked out")
}

// scripted is a Locker that answers with a fixed error, as an agent would
// when offline or for an expired code.
type scripted struct {
	err   error
	calls atomic.Int32
}

func (s *scripted) PickupPIN(context.Context, string, string) (kiosk.Result, error) {
	s.calls.Add(1)
	return kiosk.Result{}, s.err
}

func (s *scripted) PickupQR(context.Context, string) (kiosk.Result, error) {
	s.calls.Add(1)
	return kiosk.Result{}, s.err
}

func TestFailureMessages(t *testing.T) {
	cases := []struct {
		err    error
		status int
		want   string
	}{
		{kiosk.ErrOffline, 503, "The locker cannot check codes right now. Please try again in a few minutes."},
		{context.DeadlineExceeded, 503, "The locker cannot check codes right now. Please try again in a few minutes."},
		{kiosk.ErrExpired, 410, "This code has expired. The parcel is going back to the sender; please contact the carrier."},
		{&kiosk.LockedOutError{RetryAfter: 30 * time.Second}, 429, "Too many wrong attempts. Please try again in 30 seconds, or scan the QR code from your message."},
		{&kiosk.LockedOutError{RetryAfter: 61 * time.Second}, 429, "Too many wrong attempts. Please try again in 2 minutes, or scan the QR code from your message."},
		{fmt.Errorf("wrapped: %w", kiosk.ErrWrongCode), 422, "The code was not accepted. Please check the code and the phone digits and try again."},
		{errors.New("disk on fire"), 500, "Something went wrong. Please try again."},
	}
	for _, c := range cases {
		srv := newKiosk(t, &scripted{err: c.err}, nil)
		start := get(t, srv, "/en/")
		res := post(t, srv, "/en/pin", url.Values{"token": {token(t, start)}, "pin": {"123456"}})
		if res.status != c.status || status(t, res) != c.want {
			t.Errorf("%v: %d %q, want %d %q", c.err, res.status, status(t, res), c.status, c.want)
		}
		if strings.Contains(res.body, "disk on fire") {
			t.Error("an internal error reached the screen")
		}
	}
}

// Ensure forms need a fresh token of this kiosk, cross-site posts are
// refused, and a code in the URL is ignored: in each case the locker is
// never asked.
func TestFormsAreCSRFSafeAndCodesStayOutOfURLs(t *testing.T) {
	clock := parcelguard.NewManualClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	l := &scripted{err: kiosk.ErrWrongCode}
	srv := newKiosk(t, l, clock)
	other := newKiosk(t, l, clock)
	start := get(t, srv, "/en/")
	good := token(t, start)

	for name, form := range map[string]url.Values{
		"no token":             {"pin": {"123456"}},
		"garbage token":        {"token": {"x"}, "pin": {"123456"}},
		"another kiosk's form": {"token": {token(t, get(t, other, "/en/"))}, "pin": {"123456"}},
	} {
		if res := post(t, srv, "/en/pin", form); res.status != http.StatusForbidden || !strings.HasPrefix(status(t, res), "This page was open too long") {
			t.Errorf("%s: %d %q", name, res.status, status(t, res))
		}
	}
	clock.Advance(kiosk.FormTTL + time.Second)
	if res := post(t, srv, "/en/pin", url.Values{"token": {good}, "pin": {"123456"}}); res.status != http.StatusForbidden {
		t.Errorf("stale form: %d", res.status)
	}
	good = token(t, get(t, srv, "/en/"))

	// A cross-site form post (a browser says so in Sec-Fetch-Site).
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/en/pin", strings.NewReader(url.Values{"token": {good}, "pin": {"123456"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post: %d", resp.StatusCode)
	}

	// A code in the query string is not read.
	if res := post(t, srv, "/en/pin?pin=123456&phone=5678", url.Values{"token": {good}}); res.status != http.StatusUnprocessableEntity ||
		status(t, res) != "Please enter the 6-digit pickup code." {
		t.Errorf("code in URL: %d %q", res.status, status(t, res))
	}
	// Codes are never asked for with GET.
	if resp := get(t, srv, "/en/pin?pin=123456"); resp.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /en/pin: %d", resp.status)
	}
	if n := l.calls.Load(); n != 0 {
		t.Fatalf("the locker was asked %d times", n)
	}

	// Bad input is explained, not passed on.
	for _, c := range []struct{ path, field, value, want string }{
		{"/en/pin", "pin", "12345", "Please enter the 6-digit pickup code."},
		{"/en/pin", "pin", "12345a", "Please enter the 6-digit pickup code."},
		{"/en/qr", "qr", "   ", "No QR code was read. Please scan it again."},
		{"/en/qr", "qr", strings.Repeat("A", 1025), "No QR code was read. Please scan it again."},
	} {
		if res := post(t, srv, c.path, url.Values{"token": {good}, c.field: {c.value}}); status(t, res) != c.want {
			t.Errorf("%s %s=%q: %q", c.path, c.field, c.value, status(t, res))
		}
	}
	if res := post(t, srv, "/en/pin", url.Values{"token": {good}, "pin": {"123456"}, "phone": {"12"}}); status(t, res) != "Please enter exactly 4 digits, or leave the field empty." {
		t.Errorf("short phone digits: %q", status(t, res))
	}
	if n := l.calls.Load(); n != 0 {
		t.Fatalf("the locker was asked %d times for bad input", n)
	}
}

func mustAtoi(s string) int {
	var n int
	fmt.Sscanf(s, "%d", &n)
	return n
}

// failer is what must needs.
type failer interface {
	Helper()
	Fatal(args ...any)
}

func must[T any](v T, err error) func(failer) T {
	return func(t failer) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
