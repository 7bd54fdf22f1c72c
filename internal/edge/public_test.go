package edge_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/edge"
)

func TestPublicOf(t *testing.T) {
	t.Parallel()
	client := netip.MustParseAddr("203.0.113.9")
	proxy := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name   string
		tls    bool
		remote string
		stored *edge.Public
		want   edge.Public
	}{
		{
			name: "direct, plain HTTP", remote: "192.0.2.1:5555",
			want: edge.Public{Scheme: "http", Host: "wharf.internal:5000", Client: netip.MustParseAddr("192.0.2.1")},
		},
		{
			name: "direct, TLS, IPv4-mapped peer", tls: true, remote: "[::ffff:192.0.2.1]:5555",
			want: edge.Public{Scheme: "https", Host: "wharf.internal:5000", Client: netip.MustParseAddr("192.0.2.1")},
		},
		{
			name: "unparsable peer", remote: "@",
			want: edge.Public{Scheme: "http", Host: "wharf.internal:5000"},
		},
		{
			name: "behind a proxy", remote: "127.0.0.1:40000",
			stored: &edge.Public{Scheme: "https", Host: "registry.example.com", Client: client, Proxy: proxy},
			want:   edge.Public{Scheme: "https", Host: "registry.example.com", Client: client, Proxy: proxy},
		},
		{
			name: "proxy told only the client", tls: true, remote: "127.0.0.1:40000",
			stored: &edge.Public{Client: client, Proxy: proxy},
			want:   edge.Public{Scheme: "https", Host: "wharf.internal:5000", Client: client, Proxy: proxy},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "http://wharf.internal:5000/v2/", nil)
			r.RemoteAddr = tc.remote
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.stored != nil {
				r = r.WithContext(edge.WithPublic(r.Context(), *tc.stored))
			}
			cmpAddr := cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
			if diff := cmp.Diff(tc.want, edge.PublicOf(r), cmpAddr); diff != "" {
				t.Errorf("PublicOf (-want +got)\n%s", diff)
			}
			if got := edge.ClientIP(r); got != tc.want.Client {
				t.Errorf("ClientIP = %v, want %v", got, tc.want.Client)
			}
		})
	}
}
