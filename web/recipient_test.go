package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// signInRecipient exchanges a fresh magic link of parcel id on the landing
// page, as the page's script does, and returns the link token.
func (b *browser) openLink(parcelID string) (string, *response) {
	b.x.t.Helper()
	link := must(b.x.svc.RecipientLink(b.x.ctx, parcelID))(b.x.t)
	res := b.post("/track", "/track", url.Values{"token": {link}})
	return link, res
}

// Ensure the magic link is exchanged for a short-lived HttpOnly,
// SameSite=Strict cookie and a redirect to a clean URL, and that the
// tracking page then shows PIN, QR code, deadline and locker, uncached.
func TestRecipientLinkExchange(t *testing.T) {
	x := newHarness(t)
	p := x.parcel("PX-1", 2)
	b := x.browser()
	link, res := b.openLink(p.ID)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/parcel" {
		t.Fatalf("exchange: %d %q", res.status, res.header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == recipientCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("tracking cookie %+v", cookie)
	}
	if cookie.Value == link || cookie.MaxAge > int(recipientTTL.Seconds()) || cookie.MaxAge <= 0 {
		t.Fatalf("cookie must be a new short-lived token: max-age %d, same as link %v", cookie.MaxAge, cookie.Value == link)
	}
	page := b.get("/parcel")
	code, _, err := x.svc.PickupCode(x.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if page.status != 200 || !strings.Contains(page.body, `id="pin"`) || !strings.Contains(page.body, code) {
		t.Fatalf("tracking page %d without the PIN:\n%s", page.status, page.body)
	}
	for _, want := range []string{"<svg", "Bahnhofplatz 1", "openstreetmap.org", "Europe/Berlin", `id="countdown"`, `action="/parcel/extend"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("tracking page lacks %q", want)
		}
	}
	if cc := page.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	if strings.Contains(page.body, link) {
		t.Error("the link token is on the page")
	}
	// The landing page itself never carries a token or a code.
	land := x.browser().get("/track")
	if strings.Contains(land.body, "pgr_") || land.header.Get("Cache-Control") != "no-store" {
		t.Errorf("landing page: %s", land.body)
	}
}

// Ensure a forged, tampered or missing link gets the same refusal and no
// cookie, and that the exchange needs the form's CSRF token.
func TestRecipientLinkRejected(t *testing.T) {
	x := newHarness(t)
	p := x.parcel("PX-2", 2)
	link := must(x.svc.RecipientLink(x.ctx, p.ID))(t)
	tampered := link[:len(link)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(link, "AA")]
	for name, tok := range map[string]string{"tampered": tampered, "garbage": "pgr_XYZ", "empty": "", "long": strings.Repeat("A", 4000)} {
		b := x.browser()
		res := b.post("/track", "/track", url.Values{"token": {tok}})
		if res.status != http.StatusUnauthorized || !strings.Contains(res.body, `role="alert"`) {
			t.Errorf("%s: %d", name, res.status)
		}
		if _, ok := b.cookies[recipientCookie]; ok {
			t.Errorf("%s: got a tracking cookie", name)
		}
	}
	b := x.browser()
	b.get("/track")
	res := b.do(http.MethodPost, "/track", url.Values{"token": {link}, "csrf": {"k1.forged"}})
	if res.status != http.StatusForbidden {
		t.Errorf("forged CSRF token: %d", res.status)
	}
	if _, ok := b.cookies[recipientCookie]; ok {
		t.Error("forged CSRF token got a cookie")
	}
}

// Ensure the tracking cookie expires after its short lifetime, and that
// "forget" ends it at once.
func TestRecipientSessionEnds(t *testing.T) {
	x := newHarness(t)
	p := x.parcel("PX-3", 2)
	b := x.browser()
	b.openLink(p.ID)
	if res := b.get("/parcel"); res.status != 200 {
		t.Fatalf("parcel page %d", res.status)
	}
	x.clock.Advance(recipientTTL + time.Second)
	if res := b.get("/parcel"); res.status != http.StatusUnauthorized || strings.Contains(res.body, `id="pin"`) {
		t.Fatalf("after expiry: %d", res.status)
	}
	b.openLink(p.ID)
	if res := b.post("/parcel", "/parcel/forget", nil); res.status != http.StatusSeeOther {
		t.Fatalf("forget: %d", res.status)
	}
	if res := b.get("/parcel"); res.status != http.StatusUnauthorized {
		t.Fatalf("after forget: %d", res.status)
	}
}

// Ensure the deadline can be extended once from the page, and the button
// is gone afterwards.
func TestRecipientExtendOnce(t *testing.T) {
	x := newHarness(t)
	p := x.parcel("PX-4", 2)
	b := x.browser()
	b.openLink(p.ID)
	res := b.post("/parcel", "/parcel/extend", nil)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/parcel?done=extended" {
		t.Fatalf("extend: %d %s", res.status, res.header.Get("Location"))
	}
	page := b.get("/parcel?done=extended")
	if strings.Contains(page.body, `action="/parcel/extend"`) || !strings.Contains(page.body, `role="status"`) {
		t.Fatalf("after extending:\n%s", page.body)
	}
	got := must(x.svc.Parcel(x.ctx, x.courier, p.ID))(t)
	if !got.Deadline.After(p.Deadline) {
		t.Errorf("deadline %v not after %v", got.Deadline, p.Deadline)
	}
	// A second extension (a replayed form) changes nothing.
	b.post("/parcel", "/parcel/extend", nil)
	if again := must(x.svc.Parcel(x.ctx, x.courier, p.ID))(t); !again.Deadline.Equal(got.Deadline) {
		t.Errorf("extended twice: %v then %v", got.Deadline, again.Deadline)
	}
}

// Ensure a parcel not yet in its locker shows its state but no code.
func TestRecipientNoCodeBeforeDeposit(t *testing.T) {
	x := newHarness(t)
	p := x.parcel("PX-5", 1)
	b := x.browser()
	b.openLink(p.ID)
	page := b.get("/parcel")
	if page.status != 200 || strings.Contains(page.body, `id="pin"`) || strings.Contains(page.body, "<svg") {
		t.Fatalf("%d:\n%s", page.status, page.body)
	}
}
