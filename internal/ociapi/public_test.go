package ociapi_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/ociapi"
)

func TestPublicOf(t *testing.T) {
	t.Parallel()
	client := netip.MustParseAddr("203.0.113.9")
	proxy := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name   string
		tls    bool
		remote string
		stored *ociapi.Public
		want   ociapi.Public
		realm  string
	}{
		{
			name: "direct, plain HTTP", remote: "192.0.2.1:5555",
			want:  ociapi.Public{Scheme: "http", Host: "wharf.internal:5000", Client: netip.MustParseAddr("192.0.2.1")},
			realm: "http://wharf.internal:5000/auth/token",
		},
		{
			name: "direct, TLS, IPv4-mapped peer", tls: true, remote: "[::ffff:192.0.2.1]:5555",
			want:  ociapi.Public{Scheme: "https", Host: "wharf.internal:5000", Client: netip.MustParseAddr("192.0.2.1")},
			realm: "https://wharf.internal:5000/auth/token",
		},
		{
			name: "unparsable peer", remote: "@",
			want:  ociapi.Public{Scheme: "http", Host: "wharf.internal:5000"},
			realm: "http://wharf.internal:5000/auth/token",
		},
		{
			name: "behind a proxy", remote: "127.0.0.1:40000",
			stored: &ociapi.Public{Scheme: "https", Host: "registry.example.com", Client: client, Proxy: proxy},
			want:   ociapi.Public{Scheme: "https", Host: "registry.example.com", Client: client, Proxy: proxy},
			realm:  "https://registry.example.com/auth/token",
		},
		{
			name: "proxy told only the client", tls: true, remote: "127.0.0.1:40000",
			stored: &ociapi.Public{Client: client, Proxy: proxy},
			want:   ociapi.Public{Scheme: "https", Host: "wharf.internal:5000", Client: client, Proxy: proxy},
			realm:  "https://wharf.internal:5000/auth/token",
		},
	}
	realm := ociapi.RealmFromRequest("/auth/token")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "http://wharf.internal:5000/v2/", nil)
			r.RemoteAddr = tc.remote
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.stored != nil {
				r = r.WithContext(ociapi.WithPublic(r.Context(), *tc.stored))
			}
			cmpAddr := cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
			if diff := cmp.Diff(tc.want, ociapi.PublicOf(r), cmpAddr); diff != "" {
				t.Errorf("PublicOf (-want +got)\n%s", diff)
			}
			if got := ociapi.ClientIP(r); got != tc.want.Client {
				t.Errorf("ClientIP = %v, want %v", got, tc.want.Client)
			}
			if got := realm(r); got != tc.realm {
				t.Errorf("realm = %q, want %q", got, tc.realm)
			}
		})
	}
}
