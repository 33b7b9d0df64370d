package web

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"testing"

	pghttp "github.com/parcelguard/parcelguard/http"
)

// Ensure the sign-in limit per address counts the client a trusted proxy
// names, not the proxy: one client behind the proxy is throttled after the
// burst while another behind the same proxy is not, and a peer that is no
// trusted proxy cannot escape its bucket by sending X-Forwarded-For.
func TestSignInLimitBehindProxy(t *testing.T) {
	proxies := pghttp.TrustedProxies{netip.MustParsePrefix("10.0.0.0/8")}
	x := newHarness(t, func(c *Config) { c.ClientAddress = proxies.ClientAddress })
	attempt := func(remote, forwarded string, i int) int {
		t.Helper()
		b := x.browser()
		b.remote = remote
		if forwarded != "" {
			b.header = http.Header{"X-Forwarded-For": {forwarded}}
		}
		// A new unknown name each time, so the per-name budget never bites.
		form := url.Values{"username": {"nobody" + strconv.Itoa(i)}, "password": {"wrong password!!"}}
		return b.post("/console/signin", "/console/signin", form).status
	}
	for i := range signinBurst {
		if got := attempt("10.0.0.1:4000", "203.0.113.5", i); got != http.StatusUnauthorized {
			t.Fatalf("attempt %d of the burst: %d", i, got)
		}
	}
	if got := attempt("10.0.0.1:4000", "203.0.113.5", 100); got != http.StatusTooManyRequests {
		t.Errorf("client over its burst: %d, want 429", got)
	}
	if got := attempt("10.0.0.1:4000", "203.0.113.6", 101); got != http.StatusUnauthorized {
		t.Errorf("another client behind the same proxy: %d, want 401", got)
	}
	// An untrusted peer: the header is ignored, so new names in it give
	// no new buckets.
	for i := range signinBurst {
		attempt("198.51.100.7:4000", "203.0.113."+strconv.Itoa(10+i), 200+i)
	}
	if got := attempt("198.51.100.7:4000", "203.0.113.99", 300); got != http.StatusTooManyRequests {
		t.Errorf("untrusted peer with a forged X-Forwarded-For: %d, want 429", got)
	}
}

// Ensure that without a ClientAddress the connection's peer is the
// client, IPv6 peers grouped by their /64.
func TestPeerAddress(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.1:1234":       "192.0.2.1",
		"[2001:db8::1]:443":    "2001:db8::",
		"[2001:db8::ffff:1]:1": "2001:db8::",
		"not an address":       "not an address",
		"[2001:db8:0:1::7]:80": "2001:db8:0:1::",
	} {
		r := &http.Request{RemoteAddr: remote}
		if got := peerAddress(r); got != want {
			t.Errorf("peerAddress(%q) = %q, want %q", remote, got, want)
		}
	}
}
