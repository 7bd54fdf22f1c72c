package edge

import (
	"context"
	"net/http"
	"net/netip"
)

// Public is how the client reached the server, which differs from what the
// connection shows when a reverse proxy (nginx, Caddy, a load balancer)
// stands in between: the proxy terminates TLS, connects from its own
// address, and may rename the host. Forwarded fills it in from a trusted
// proxy's X-Forwarded-* headers; handlers read it with PublicOf, so that no
// API package needs to know about proxies.
type Public struct {
	// Scheme is "http" or "https", as the client used it.
	Scheme string
	// Host is the host[:port] the client asked for.
	Host string
	// Client is the client's address: for ACL ip rules, rate limits and
	// logs.
	Client netip.Addr
	// Proxy is the trusted proxy the request came through; zero when the
	// client connected directly.
	Proxy netip.Addr
}

type publicKey struct{}

// WithPublic returns a context that carries p for PublicOf.
func WithPublic(ctx context.Context, p Public) context.Context {
	return context.WithValue(ctx, publicKey{}, p)
}

// PublicOf returns how the client reached the server: what WithPublic
// stored, with every field left empty taken from the request itself (TLS on
// the connection, the Host header, the peer's address).
func PublicOf(r *http.Request) Public {
	p, _ := r.Context().Value(publicKey{}).(Public)
	if p.Scheme == "" {
		p.Scheme = "http"
		if r.TLS != nil {
			p.Scheme = "https"
		}
	}
	if p.Host == "" {
		p.Host = r.Host
	}
	if !p.Client.IsValid() {
		p.Client = peerAddr(r.RemoteAddr)
	}
	return p
}

// ClientIP is the client's address: behind a trusted proxy the one it
// forwarded for, else the connection's peer (zero when RemoteAddr does not
// parse). Every ACL ip rule, rate limit and log line asks it.
func ClientIP(r *http.Request) netip.Addr { return PublicOf(r).Client }

// peerAddr is the address of RemoteAddr, IPv4-mapped IPv6 unmapped.
func peerAddr(remoteAddr string) netip.Addr {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
