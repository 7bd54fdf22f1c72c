package edge

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// Headers a reverse proxy sets to say who the client is and how it
// connected. They are believed only from a trusted proxy.
var forwardedHeaders = []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip", "Forwarded"}

// Forwarded believes a reverse proxy about the client, when the connection
// comes from one of the trusted prefixes: the client's address from
// X-Forwarded-For (or X-Real-IP), the public scheme from X-Forwarded-Proto
// and the public host from X-Forwarded-Host. They go into the request
// context (WithPublic), where the token realm, ACL ip rules and rate limits
// read them.
//
// The request's RemoteAddr is rewritten to the client too, with port 0
// (the proxy does not tell the client's port): everything that reads the
// peer's address — the access log, log lines — then names the client
// rather than the proxy. The proxy's own address stays in Public.Proxy.
//
// From any other peer the headers are removed, so that no handler can be
// fooled by a client that sends them itself.
func Forwarded(next http.Handler, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer := peerAddr(r.RemoteAddr)
		if !isTrusted(trusted, peer) {
			if hasForwarded(r.Header) {
				r = r.Clone(r.Context())
				for _, h := range forwardedHeaders {
					r.Header.Del(h)
				}
			}
			next.ServeHTTP(w, r)
			return
		}
		pub := forwardedPublic(r.Header, peer, trusted)
		r = r.WithContext(WithPublic(r.Context(), pub))
		if pub.Client != peer {
			r.RemoteAddr = netip.AddrPortFrom(pub.Client, 0).String()
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedPublic reads what a trusted proxy says about the client. Values
// that do not parse are ignored, leaving PublicOf's defaults (the
// connection's own scheme, Host header and peer).
func forwardedPublic(h http.Header, peer netip.Addr, trusted []netip.Prefix) Public {
	pub := Public{Client: peer}
	if c, ok := forwardedClient(h.Values("X-Forwarded-For"), peer, trusted); ok {
		pub.Client, pub.Proxy = c, peer
	} else if a, ok := parseForwardedAddr(h.Get("X-Real-Ip")); ok {
		pub.Client, pub.Proxy = a, peer
	}
	// With several values (a proxy that appends instead of replacing),
	// the last one is our peer's: the others may come from the client.
	if proto := strings.ToLower(lastValue(h.Values("X-Forwarded-Proto"))); proto == "http" || proto == "https" {
		pub.Scheme = proto
	}
	if host := lastValue(h.Values("X-Forwarded-Host")); validHost(host) {
		pub.Host = host
	}
	return pub
}

// forwardedClient walks X-Forwarded-For from the right: each entry was
// appended by the proxy on its right, so entries can be believed only as
// long as they are trusted proxies. The first untrusted address is the
// client; anything left of it may be forged. If every entry is a trusted
// proxy, the leftmost one is the client. An entry that does not parse stops
// the walk at the last address that did.
func forwardedClient(values []string, peer netip.Addr, trusted []netip.Prefix) (netip.Addr, bool) {
	var entries []string
	for _, v := range values {
		entries = append(entries, strings.Split(v, ",")...)
	}
	client, found := peer, false
	for i := len(entries) - 1; i >= 0; i-- {
		a, ok := parseForwardedAddr(entries[i])
		if !ok {
			break
		}
		client, found = a, true
		if !isTrusted(trusted, a) {
			break
		}
	}
	return client, found
}

// parseForwardedAddr parses one X-Forwarded-For entry: an address, or an
// address with a port (some proxies add one), IPv6 in brackets or not.
func parseForwardedAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func isTrusted(prefixes []netip.Prefix, a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func hasForwarded(h http.Header) bool {
	for _, k := range forwardedHeaders {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

// lastValue is the last element of a comma-separated header that may
// appear several times.
func lastValue(values []string) string {
	if len(values) == 0 {
		return ""
	}
	v := values[len(values)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// validHost accepts host[:port] where host is a DNS name, an IPv4 address
// or an IPv6 address in brackets: what may stand between "https://" and
// the path of a URL we hand to clients. Anything else (a path, user info,
// spaces, an empty or out-of-range port) is refused.
func validHost(s string) bool {
	if s == "" || len(s) > 261 {
		return false
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return false
		}
		host, port = s[1:end], s[end+1:]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() || a.Zone() != "" {
			return false
		}
		if port != "" {
			if port[0] != ':' {
				return false
			}
			port = port[1:]
			return validPort(port)
		}
		return true
	}
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
		if !validPort(port) {
			return false
		}
	}
	return validHostname(host)
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 || strings.TrimLeft(p, "0123456789") != "" {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n <= 65535
}

// validHostname accepts DNS names (letters, digits, '-', '_' in labels of
// at most 63 bytes, an optional final dot) and IPv4 addresses, which are
// a special case of the same syntax.
func validHostname(h string) bool {
	if h == "" || len(h) > 254 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
