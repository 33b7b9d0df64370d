package http

import (
	"net/http"
	"strings"
	"testing"
)

func mustTrust(tb testing.TB, s string) TrustedProxies {
	tb.Helper()
	t, err := ParseTrustedProxies(s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// Ensure the client is the right-most untrusted X-Forwarded-For address
// only when the connection comes from a trusted proxy, and that nothing a
// client writes into the header moves it off its own address.
func TestClientAddress(t *testing.T) {
	proxies := mustTrust(t, "10.0.0.0/8, 192.168.1.1, fd00::/8")
	for _, tc := range []struct {
		name    string
		trusted TrustedProxies
		remote  string
		xff     []string
		want    string
	}{
		{"no proxies trusted: the peer", nil, "203.0.113.9:5555", []string{"198.51.100.1"}, "203.0.113.9"},
		{"untrusted peer spoofing the header", proxies, "203.0.113.9:5555", []string{"198.51.100.1"}, "203.0.113.9"},
		{"untrusted peer spoofing a trusted address", proxies, "203.0.113.9:5555", []string{"10.0.0.1"}, "203.0.113.9"},
		{"trusted proxy, one hop", proxies, "10.1.2.3:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"trusted proxy, spoofed left part", proxies, "10.1.2.3:443", []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted proxies", proxies, "10.1.2.3:443", []string{"6.6.6.6, 198.51.100.1, 192.168.1.1"}, "198.51.100.1"},
		{"several headers in order", proxies, "10.1.2.3:443", []string{"6.6.6.6", "198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"every hop trusted: the left-most", proxies, "10.1.2.3:443", []string{"10.0.0.7, 192.168.1.1"}, "10.0.0.7"},
		{"trusted proxy, no header: the proxy", proxies, "10.1.2.3:443", nil, "10.1.2.3"},
		{"malformed entry: the last trusted hop", proxies, "10.1.2.3:443", []string{"198.51.100.1, bogus"}, "10.1.2.3"},
		{"malformed after a trusted hop", proxies, "10.1.2.3:443", []string{"junk, 192.168.1.1"}, "192.168.1.1"},
		{"entries with ports", proxies, "10.1.2.3:443", []string{"198.51.100.1:4711"}, "198.51.100.1"},
		{"IPv6 client by its /64", proxies, "[fd00::1]:443", []string{"[2001:db8:1:2:3:4:5:6]:80"}, "2001:db8:1:2::/64"},
		{"IPv4-mapped peer", proxies, "[::ffff:10.0.0.1]:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"IPv4-mapped client", proxies, "10.0.0.1:443", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"zone in an entry is malformed", proxies, "10.0.0.1:443", []string{"fe80::1%eth0"}, "10.0.0.1"},
		{"unparsable peer", proxies, "pipe", []string{"198.51.100.1"}, "pipe"},
		{"IPv6 peer untrusted by /64", nil, "[2001:db8::1]:443", nil, "2001:db8::/64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "http://x/v1/sites", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tc.trusted.ClientAddress(r); got != tc.want {
				t.Fatalf("client %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // the prefixes, space separated; "error" for a refusal
	}{
		{"", ""},
		{" , ", ""},
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"127.0.0.1, ::1", "127.0.0.1/32 ::1/128"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"10.0.0.0/33", "error"},
		{"localhost", "error"},
		{"10.0.0.0/8;", "error"},
	} {
		got, err := ParseTrustedProxies(tc.in)
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		if err != nil {
			s = []string{"error"}
			if !strings.Contains(err.Error(), "trusted proxy") {
				t.Errorf("%q: error %q does not name the flag's subject", tc.in, err)
			}
		}
		if strings.Join(s, " ") != tc.want {
			t.Errorf("%q: %v, want %q", tc.in, s, tc.want)
		}
	}
}

// Ensure no header value makes ClientAddress panic or name an address the
// header could not have given: from an untrusted peer the answer is the
// peer whatever the header says.
func FuzzClientAddress(f *testing.F) {
	for _, s := range []string{"198.51.100.1", "1.1.1.1, 10.0.0.1", "[::1]:80, bogus", ",,,", "fe80::1%eth0"} {
		f.Add(s)
	}
	proxies := mustTrust(f, "10.0.0.0/8")
	f.Fuzz(func(t *testing.T, xff string) {
		r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
		r.Header.Set("X-Forwarded-For", xff)
		r.RemoteAddr = "203.0.113.9:1"
		if got := proxies.ClientAddress(r); got != "203.0.113.9" {
			t.Fatalf("untrusted peer named %q", got)
		}
		r.RemoteAddr = "10.0.0.1:1"
		if got := proxies.ClientAddress(r); got == "" {
			t.Fatal("no client named")
		}
	})
}
