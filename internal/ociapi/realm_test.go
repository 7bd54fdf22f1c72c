package ociapi_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"wharf/internal/edge"
	"wharf/internal/ociapi"
)

// TestRealm: the token realm in a challenge follows the scheme and host the
// client used, as edge.PublicOf tells them (behind a trusted proxy, the
// proxy's public ones).
func TestRealm(t *testing.T) {
	t.Parallel()
	client := netip.MustParseAddr("203.0.113.9")
	proxy := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name   string
		tls    bool
		stored *edge.Public
		port   string
		want   string
	}{
		{name: "direct, plain HTTP", want: "http://wharf.internal:5000/auth/token"},
		{name: "direct, TLS", tls: true, want: "https://wharf.internal:5000/auth/token"},
		{name: "behind a proxy", stored: &edge.Public{Scheme: "https", Host: "registry.example.com", Client: client, Proxy: proxy},
			want: "https://registry.example.com/auth/token"},
		{name: "proxy told only the client", tls: true, stored: &edge.Public{Client: client, Proxy: proxy},
			want: "https://wharf.internal:5000/auth/token"},
		{name: "token listener on its own port", port: "5001", want: "http://wharf.internal:5001/auth/token"},
		{name: "own port behind a proxy", port: "5001", stored: &edge.Public{Scheme: "https", Host: "[2001:db8::1]:8443"},
			want: "https://[2001:db8::1]:5001/auth/token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "http://wharf.internal:5000/v2/", nil)
			r.RemoteAddr = "127.0.0.1:40000"
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.stored != nil {
				r = r.WithContext(edge.WithPublic(r.Context(), *tc.stored))
			}
			if got := ociapi.RealmOnPort(tc.port, "/auth/token")(r); got != tc.want {
				t.Errorf("realm = %q, want %q", got, tc.want)
			}
		})
	}
}
