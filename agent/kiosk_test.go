package agent_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/notify"
)

// kioskClient drives the agent's kiosk over HTTP like the touchscreen's
// browser: it reads a page for its form token and posts forms.
type kioskClient struct {
	t    *testing.T
	base string
}

var (
	formToken = regexp.MustCompile(`name="token" value="([^"]+)"`)
	liveText  = regexp.MustCompile(`(?s)role="(?:status|alert)"[^>]*>(.*?)</`)
)

func (k *kioskClient) post(path string, form url.Values) (int, string, http.Header) {
	k.t.Helper()
	res, err := http.Get(k.base + "/en/")
	if err != nil {
		k.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := formToken.FindSubmatch(b)
	if m == nil {
		k.t.Fatalf("no form token on the start page:\n%s", b)
	}
	form.Set("token", string(m[1]))
	res, err = http.PostForm(k.base+path, form)
	if err != nil {
		k.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ = io.ReadAll(res.Body)
	live := ""
	if m := liveText.FindSubmatch(b); m != nil {
		live = strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(string(m[1]), " ")), " ")
	}
	return res.StatusCode, live, res.Header
}

// startKiosk serves the world's agent's kiosk on a loopback port.
func (w *world) startKiosk() *kioskClient {
	w.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.t.Fatal(err)
	}
	bg(w.t, func(ctx context.Context) error {
		return w.agent.ServeKiosk(ctx, l, "Station")
	})
	return &kioskClient{t: w.t, base: "http://" + l.Addr().String()}
}

// Ensure the kiosk served by the agent opens the right door for a PIN with
// phone digits and for a QR token, offline too, and explains a wrong code,
// a lock-out with its retry-after, an expired code and a broken store in
// the kiosk's own words.
func TestKioskThroughAgent(t *testing.T) {
	w := newWorld(t, false)
	k := w.startKiosk()
	x1, pin1, g1 := w.deposit("TRK-K1")
	x2, _, g2 := w.deposit("TRK-K2")
	x3, pin3, g3 := w.deposit("TRK-K3")
	eventually(t, "grants at the agent", func() bool {
		return w.agentHas(g1.ID, parcelguard.GrantActive) && w.agentHas(g2.ID, parcelguard.GrantActive) && w.agentHas(g3.ID, parcelguard.GrantActive)
	})
	label := func(x *parcelguard.Parcel) string {
		for _, c := range w.prov.Compartments {
			if c.ID == x.CompartmentID {
				return c.Label
			}
		}
		return ""
	}

	w.srv.Stop() // the kiosk needs no network

	// Wrong phone digits: the same answer as a wrong PIN.
	if code, msg, _ := k.post("/en/pin", url.Values{"pin": {pin1}, "phone": {"0000"}}); code != http.StatusUnprocessableEntity || !strings.HasPrefix(msg, "The code was not accepted") {
		t.Fatalf("wrong digits: %d %q", code, msg)
	}
	code, msg, _ := k.post("/en/pin", url.Values{"pin": {pin1}, "phone": {"5678"}})
	if code != http.StatusOK || msg != "Compartment "+label(x1)+" is open." {
		t.Fatalf("PIN pickup: %d %q", code, msg)
	}
	if !w.sim.DoorIsOpen(w.lockOf(x1.CompartmentID)) {
		t.Fatal("the door did not open")
	}

	// The QR code of the second parcel, checked offline by signature.
	tok, err := notify.PickupToken(w.keys, g2)
	if err != nil {
		t.Fatal(err)
	}
	if code, msg, _ := k.post("/en/qr", url.Values{"qr": {tok + "\n"}}); code != http.StatusOK || !strings.Contains(msg, label(x2)+" is open") {
		t.Fatalf("QR pickup: %d %q", code, msg)
	}
	if code, _, _ := k.post("/en/qr", url.Values{"qr": {tok}}); code != http.StatusUnprocessableEntity {
		t.Fatalf("QR used twice: %d", code)
	}

	// Past the deadline the third code is expired, not wrong.
	w.clock.Advance(parcelguard.DefaultStoragePeriod + time.Minute)
	tok3, err := notify.PickupToken(w.keys, g3)
	if err != nil {
		t.Fatal(err)
	}
	if code, msg, _ := k.post("/en/qr", url.Values{"qr": {tok3}}); code != http.StatusGone || !strings.HasPrefix(msg, "This code has expired") {
		t.Fatalf("expired QR: %d %q", code, msg)
	}
	if code, msg, _ := k.post("/en/pin", url.Values{"pin": {pin3}, "phone": {"5678"}}); code != http.StatusGone || !strings.HasPrefix(msg, "This code has expired") {
		t.Fatalf("expired PIN: %d %q", code, msg)
	}
	if w.sim.DoorIsOpen(w.lockOf(x3.CompartmentID)) {
		t.Fatal("an expired code opened a door")
	}

	// Guessing: after the free failures the locker answers with a delay.
	var (
		hdr http.Header
		n   int
	)
	for n = 0; n < 10; n++ {
		code, msg, hdr = k.post("/en/pin", url.Values{"pin": {"000000"}})
		if code == http.StatusTooManyRequests {
			break
		}
		if code != http.StatusUnprocessableEntity {
			t.Fatalf("guess %d: %d %q", n, code, msg)
		}
	}
	if code != http.StatusTooManyRequests || !strings.HasPrefix(msg, "Too many wrong attempts. Please try again in") || hdr.Get("Retry-After") == "" {
		t.Fatalf("after %d guesses: %d %q Retry-After %q", n, code, msg, hdr.Get("Retry-After"))
	}

	// A locker whose store is gone cannot check codes: "offline".
	w.stopAg()
	w.agent.Close()
	if code, msg, _ := k.post("/en/pin", url.Values{"pin": {"123456"}}); code != http.StatusServiceUnavailable || !strings.HasPrefix(msg, "The locker cannot check codes") {
		t.Fatalf("broken store: %d %q", code, msg)
	}
}

// Ensure a courier deposits at the kiosk with a deposit code while the
// locker is cut off: exactly the reserved door opens, a wrong code is
// refused with the kiosk's wrong-code answer, and a second use fails.
func TestKioskDepositThroughAgent(t *testing.T) {
	w := newWorld(t, false)
	k := w.startKiosk()
	x := w.reserve("TRK-KD1")
	depositCode, dg, err := w.svc.IssueDepositCode(w.ctx, w.courier, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "deposit grant at the agent", func() bool { return w.agentHas(dg.ID, parcelguard.GrantActive) })
	w.srv.Stop()

	wrong := "000000"
	if depositCode == wrong {
		wrong = "111111"
	}
	if code, msg, _ := k.post("/en/deposit", url.Values{"deposit_code": {wrong}}); code != http.StatusUnprocessableEntity || !strings.HasPrefix(msg, "The code was not accepted") {
		t.Fatalf("wrong deposit code: %d %q", code, msg)
	}
	code, msg, _ := k.post("/en/deposit", url.Values{"deposit_code": {depositCode}})
	if code != http.StatusOK || !strings.Contains(msg, "is open") {
		t.Fatalf("deposit: %d %q", code, msg)
	}
	if !w.sim.DoorIsOpen(w.lockOf(x.CompartmentID)) {
		t.Fatal("the reserved door did not open")
	}
	if code, _, _ := k.post("/en/deposit", url.Values{"deposit_code": {depositCode}}); code == http.StatusOK {
		t.Fatal("a used deposit code opened again")
	}
}
