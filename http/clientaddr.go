package http

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Behind a reverse proxy every connection comes from the proxy, so the
// client's own address is in X-Forwarded-For, which each proxy extends with
// the address it received the request from. Anyone may send that header,
// so only entries appended by proxies we trust are believed: the client is
// the right-most address that is not a trusted proxy.

// forwardedForHeader is the header proxies append client addresses to.
const forwardedForHeader = "X-Forwarded-For"

// TrustedProxies lists the networks of the reverse proxies in front of
// the server. The zero value trusts no one: the client is always the
// connection's peer.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies reads a comma-separated list of CIDR prefixes
// (10.0.0.0/8, fd00::/8) or single addresses (127.0.0.1, ::1). Blank
// entries are skipped; an empty list trusts no one.
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	var out TrustedProxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not a CIDR prefix such as 10.0.0.0/8", f)
			}
			if p.Addr().Is4In6() {
				// An IPv4-mapped prefix covers the IPv4 addresses it names.
				p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// trusts reports whether a is the address of a trusted proxy.
func (t TrustedProxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddress names the client of r for rate limits and logs. When the
// connection comes from a trusted proxy, it is the right-most address of
// X-Forwarded-For (all such headers, in order) that is not a trusted proxy;
// if every entry is trusted, the left-most one; a malformed entry stops
// the walk at the last trusted hop, whose word is all there is. Otherwise
// it is the connection's peer, whatever the headers say. IPv4 addresses
// are named as they are, IPv6 ones by their /64 (a single host usually
// holds a whole /64).
//
// It is exported so that every limit per client address in the process
// (the web pages' sign-in limit too) can agree on who a client is.
func (t TrustedProxies) ClientAddress(r *http.Request) string {
	host, peer, ok := peerAddr(r.RemoteAddr)
	if !ok {
		return host
	}
	if len(t) == 0 || !t.trusts(peer) {
		return addressKey(peer)
	}
	client := peer
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break
		}
		client = a
		if !t.trusts(a) {
			break
		}
	}
	return addressKey(client)
}

// forwardedFor returns the entries of every X-Forwarded-For header, left
// to right.
func forwardedFor(h http.Header) []string {
	var out []string
	for _, v := range h.Values(forwardedForHeader) {
		for _, hop := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(hop))
		}
	}
	return out
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a
// port, IPv6 possibly in brackets. Zones are not addresses of a client.
func parseHop(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), ap.Addr().Zone() == ""
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// peerAddr reads the connection's remote address: its host part, and the
// address if the host is one.
func peerAddr(remote string) (string, netip.Addr, bool) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host, netip.Addr{}, false
	}
	return host, a.WithZone("").Unmap(), true
}

// addressKey names a client address: IPv4 as it is, IPv6 by its /64.
func addressKey(a netip.Addr) string {
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
}
