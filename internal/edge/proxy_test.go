package edge

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/config"
)

// seen is what a handler behind Forwarded observes.
type seen struct {
	Public     Public
	RemoteAddr string
	Headers    map[string]string // the forwarded headers still present
}

// observe runs one request through Forwarded and reports what the next
// handler saw.
func observe(t *testing.T, trusted []string, remote string, tls bool, hdr map[string][]string) seen {
	t.Helper()
	prefixes, err := config.ParseTrustedProxies(trusted)
	if err != nil {
		t.Fatal(err)
	}
	var got seen
	h := Forwarded(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = seen{Public: PublicOf(r), RemoteAddr: r.RemoteAddr}
		for _, k := range forwardedHeaders {
			if v := r.Header.Values(k); len(v) > 0 {
				if got.Headers == nil {
					got.Headers = map[string]string{}
				}
				got.Headers[k] = strings.Join(v, "|")
			}
		}
	}), prefixes)
	target := "http://wharf.internal:5000/v2/"
	if tls {
		target = "https://wharf.internal:5000/v2/"
	}
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.RemoteAddr = remote
	for k, vs := range hdr {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	h.ServeHTTP(httptest.NewRecorder(), r)
	return got
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestForwarded(t *testing.T) {
	t.Parallel()
	nginx := []string{"127.0.0.1"}
	lb := []string{"10.0.0.0/8", "192.168.1.1"}
	v6 := []string{"fd00::/8"}
	tests := []struct {
		name    string
		trusted []string
		remote  string
		tls     bool
		hdr     map[string][]string
		want    seen
	}{
		{
			name: "no proxies configured: headers ignored and stripped", remote: "203.0.113.9:4711",
			hdr: map[string][]string{"X-Forwarded-For": {"1.2.3.4"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"evil.example"}, "X-Real-Ip": {"1.2.3.4"}},
			want: seen{Public: Public{Scheme: "http", Host: "wharf.internal:5000", Client: addr("203.0.113.9")},
				RemoteAddr: "203.0.113.9:4711"},
		},
		{
			name: "spoofed headers from an untrusted peer: ignored and stripped", trusted: nginx, remote: "198.51.100.7:1234",
			hdr: map[string][]string{"X-Forwarded-For": {"127.0.0.1"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"registry.example.com"}, "Forwarded": {"for=127.0.0.1"}},
			want: seen{Public: Public{Scheme: "http", Host: "wharf.internal:5000", Client: addr("198.51.100.7")},
				RemoteAddr: "198.51.100.7:1234"},
		},
		{
			name: "untrusted peer over TLS keeps its own scheme", trusted: nginx, remote: "198.51.100.7:1234", tls: true,
			hdr: map[string][]string{"X-Forwarded-Proto": {"http"}},
			want: seen{Public: Public{Scheme: "https", Host: "wharf.internal:5000", Client: addr("198.51.100.7")},
				RemoteAddr: "198.51.100.7:1234"},
		},
		{
			name: "nginx: client, scheme and host believed", trusted: nginx, remote: "127.0.0.1:50000",
			hdr: map[string][]string{"X-Forwarded-For": {"203.0.113.9"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"registry.example.com:8443"}},
			want: seen{Public: Public{Scheme: "https", Host: "registry.example.com:8443", Client: addr("203.0.113.9"), Proxy: addr("127.0.0.1")},
				RemoteAddr: "203.0.113.9:0",
				Headers:    map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "registry.example.com:8443"}},
		},
		{
			name: "chain of proxies: the first untrusted from the right is the client", trusted: lb, remote: "10.1.2.3:80",
			hdr: map[string][]string{"X-Forwarded-For": {"6.6.6.6, 203.0.113.9, 192.168.1.1", "10.9.9.9"}},
			want: seen{Public: Public{Scheme: "http", Host: "wharf.internal:5000", Client: addr("203.0.113.9"), Proxy: addr("10.1.2.3")},
				RemoteAddr: "203.0.113.9:0",
				Headers:    map[string]string{"X-Forwarded-For": "6.6.6.6, 203.0.113.9, 192.168.1.1|10.9.9.9"}},
		},
		{
			name: "client forges XFF through a trusted proxy: forged part ignored", trusted: nginx, remote: "127.0.0.1:50000",
			hdr: map[string][]string{"X-Forwarded-For": {"10.0.0.1, 203.0.113.9"}},
			want: seen{Public: Public{Scheme: "http", Host: "wharf.internal:5000", Client: addr("203.0.113.9"), Proxy: addr("127.0.0.1")},
				RemoteAddr: "203.0.113.9:0",
				Headers:    map[string]string{"X-Forwarded-For": "10.0.0.1, 203.0.113.9"}},
		},
		{
			name: "every hop trusted: the leftmost is the client", trusted: lb, remote: "10.1.2.3:80",
			hdr: map[string][]string{"X-Forwarded-For": {"10.0.0.5, 10.0.0.6"}},
			want: seen{Public: Public{Scheme: "http", Host: "wharf.internal:5000", Client: addr("10.0.0.5"), Proxy: addr("10.1.2.3")},
				RemoteAddr: "10.0.0.5:0",
				Headers:    map[string]string{"X-Forwarded-For": "10.0.0.5, 10.0.0.6"}},
		},
		{
			name: "garbage in the chain stops the walk at the last valid hop", trusted: lb, remote: "10.1.2.3:80",
			hdr: map[string][]string{"X-Forwarded-For": {"203.0.113.9, unknown, 10.0.0.6"}},
			want: seen{Public: Public{Scheme: "http", Host: "wharf.internal:5000", Client: addr("10.0.0.6"), Proxy: addr("10.1.2.3")},
				RemoteAddr: "10.0.0.6:0",
				Headers:    map[string]string{"X-Forwarded-For": "203.0.113.9, unknown, 10.0.0.6"}},
		},
		{
			name: "garbage only: the peer is the client", trusted: nginx, remote: "127.0.0.1:50000",
			hdr: map[string][]string{"X-Forwarded-For": {"<script>"}},
			want: seen{Public: Public{Scheme: "http", Host: "wharf.internal:5000", Client: addr("127.0.0.1")},
				RemoteAddr: "127.0.0.1:50000",
				Headers:    map[string]string{"X-Forwarded-For": "<script>"}},
		},
		{
			name: "entries with ports", trusted: nginx, remote: "127.0.0.1:50000",
			hdr: map[string][]string{"X-Forwarded-For": {"[2001:db8::1]:3456, 203.0.113.9:80"}},
			want: seen{Public: Public{Scheme: "http", Host: "wharf.internal:5000", Client: addr("203.0.113.9"), Proxy: addr("127.0.0.1")},
				RemoteAddr: "203.0.113.9:0",
				Headers:    map[string]string{"X-Forwarded-For": "[2001:db8::1]:3456, 203.0.113.9:80"}},
		},
		{
			name: "X-Real-IP when there is no X-Forwarded-For", trusted: nginx, remote: "127.0.0.1:50000",
			hdr: map[string][]string{"X-Real-Ip": {"203.0.113.9"}},
			want: seen{Public: Public{Scheme: "http", Host: "wharf.internal:5000", Client: addr("203.0.113.9"), Proxy: addr("127.0.0.1")},
				RemoteAddr: "203.0.113.9:0",
				Headers:    map[string]string{"X-Real-Ip": "203.0.113.9"}},
		},
		{
			name: "trusted peer without headers: nothing changes", trusted: nginx, remote: "127.0.0.1:50000", tls: true,
			want: seen{Public: Public{Scheme: "https", Host: "wharf.internal:5000", Client: addr("127.0.0.1")},
				RemoteAddr: "127.0.0.1:50000"},
		},
		{
			name: "bad proto and host ignored", trusted: nginx, remote: "127.0.0.1:50000",
			hdr: map[string][]string{"X-Forwarded-Proto": {"javascript"}, "X-Forwarded-Host": {"evil.example/path?x="}},
			want: seen{Public: Public{Scheme: "http", Host: "wharf.internal:5000", Client: addr("127.0.0.1")},
				RemoteAddr: "127.0.0.1:50000",
				Headers:    map[string]string{"X-Forwarded-Proto": "javascript", "X-Forwarded-Host": "evil.example/path?x="}},
		},
		{
			name: "appended proto and host: the proxy's own (last) value", trusted: nginx, remote: "127.0.0.1:50000",
			hdr: map[string][]string{"X-Forwarded-Proto": {"http, HTTPS"}, "X-Forwarded-Host": {"evil.example", "registry.example.com"}},
			want: seen{Public: Public{Scheme: "https", Host: "registry.example.com", Client: addr("127.0.0.1")},
				RemoteAddr: "127.0.0.1:50000",
				Headers:    map[string]string{"X-Forwarded-Proto": "http, HTTPS", "X-Forwarded-Host": "evil.example|registry.example.com"}},
		},
		{
			name: "IPv6 proxy and client", trusted: v6, remote: "[fd00::1]:443",
			hdr: map[string][]string{"X-Forwarded-For": {"2001:db8::7, fd00::2"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"[2001:db8::1]:8443"}},
			want: seen{Public: Public{Scheme: "https", Host: "[2001:db8::1]:8443", Client: addr("2001:db8::7"), Proxy: addr("fd00::1")},
				RemoteAddr: "[2001:db8::7]:0",
				Headers:    map[string]string{"X-Forwarded-For": "2001:db8::7, fd00::2", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "[2001:db8::1]:8443"}},
		},
		{
			name: "IPv4-mapped IPv6 peer matches an IPv4 entry", trusted: nginx, remote: "[::ffff:127.0.0.1]:50000",
			hdr: map[string][]string{"X-Forwarded-For": {"::ffff:203.0.113.9"}},
			want: seen{Public: Public{Scheme: "http", Host: "wharf.internal:5000", Client: addr("203.0.113.9"), Proxy: addr("127.0.0.1")},
				RemoteAddr: "203.0.113.9:0",
				Headers:    map[string]string{"X-Forwarded-For": "::ffff:203.0.113.9"}},
		},
		{
			name: "IPv6 peer outside the trusted range", trusted: v6, remote: "[2001:db8::99]:443",
			hdr: map[string][]string{"X-Forwarded-For": {"fd00::5"}},
			want: seen{Public: Public{Scheme: "http", Host: "wharf.internal:5000", Client: addr("2001:db8::99")},
				RemoteAddr: "[2001:db8::99]:443"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := observe(t, tc.trusted, tc.remote, tc.tls, tc.hdr)
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestValidHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host string
		want bool
	}{
		{"registry.example.com", true},
		{"registry.example.com:8443", true},
		{"127.0.0.1:443", true},
		{"localhost", true},
		{"my_host.lan.", true},
		{"[::1]", true},
		{"[2001:db8::1]:5000", true},
		{"", false},
		{":443", false},
		{"host:", false},
		{"host:0", false},
		{"host:65536", false},
		{"host:+80", false},
		{"host:80:80", false},
		{"::1", false},
		{"[::1", false},
		{"[::1]x", false},
		{"[127.0.0.1]", false},
		{"[fe80::1%eth0]", false},
		{"user@host", false},
		{"host/path", false},
		{"host?q", false},
		{"host name", false},
		{"-host", false},
		{"a..b", false},
		{strings.Repeat("a", 64) + ".com", false},
		{"héllo.example", false},
	}
	for _, tc := range tests {
		if got := validHost(tc.host); got != tc.want {
			t.Errorf("validHost(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}

// The table was checked against PCRE itself (grep -P with the classic
// nginx expression), which is what nginx uses.
func TestOldDockerClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ua      string
		blocked bool
	}{
		{"docker/1.3.0", true},
		{"docker/1.3", true},
		{"docker/1.4.1 go/go1.3.3 git-commit/5bc2ff8 kernel/3.16 os/linux arch/amd64", true},
		{"docker/1.5.0", true},
		{"docker/1.5", true},
		{"docker/1.5.", true},
		{"docker/1.5.0-rc1", true},
		{"docker/1.5.10-dev", true}, // the lookahead wants one digit before -dev
		{"docker/1.5.x-dev", true},
		{"docker/1.30", true}, // a prefix match, as in nginx
		{"Go 1.1 package http", true},
		{"Go ", true},
		{"docker/1.5.0-dev", false},
		{"docker/1.5.1-dev", false},
		{"docker/1.5.0-devel", false},
		{"docker/1.5.9-dev+x", false},
		{"docker/1.2.0", false},
		{"docker/1.6.0", false},
		{"docker/1.13.1", false},
		{"docker/1.", false},
		{"docker/20.10.24 go/go1.19.8 git-commit/5d6db84 kernel/6.1.0 os/linux arch/amd64", false},
		{"Docker/1.4", false},
		{" docker/1.4", false},
		{"Go-http-client/1.1", false},
		{"Go", false},
		{"go 1.1 package http", false},
		{"go-containerregistry/v0.20.2", false},
		{"crane/v0.20.2 go-containerregistry/v0.20.2", false},
		{"containers/5.24.1 (github.com/containers/image)", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := oldDockerClient(tc.ua); got != tc.blocked {
			t.Errorf("oldDockerClient(%q) = %v, want %v", tc.ua, got, tc.blocked)
		}
	}
}

func TestV2Gate(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle("/v2/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "api", http.StatusUnauthorized)
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	h := V2Gate(mux)
	tests := []struct {
		name, path, ua string
		status         int
		apiVersion     bool
	}{
		{"api", "/v2/", "docker/24.0.5", http.StatusUnauthorized, true},
		{"bare /v2 (mux 404 or redirect)", "/v2", "docker/24.0.5", 0, true},
		{"unclean path redirected by the mux", "/v2/a/../b", "docker/24.0.5", 0, true},
		{"old docker", "/v2/", "docker/1.4.1", http.StatusNotFound, true},
		{"old docker on a blob", "/v2/a/blobs/sha256:00", "docker/1.5.0", http.StatusNotFound, true},
		{"old Go client", "/v2/", "Go 1.1 package http", http.StatusNotFound, true},
		{"today's Go client", "/v2/", "Go-http-client/1.1", http.StatusUnauthorized, true},
		{"old docker outside /v2", "/healthz", "docker/1.4.1", http.StatusOK, false},
		{"not /v2: /v20", "/v20/", "docker/1.4.1", http.StatusNotFound, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			r.Header.Set("User-Agent", tc.ua)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if tc.status != 0 && rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			if got := rec.Header().Get("Docker-Distribution-Api-Version") == "registry/2.0"; got != tc.apiVersion {
				t.Errorf("Docker-Distribution-Api-Version present = %v, want %v (headers %v)", got, tc.apiVersion, rec.Header())
			}
		})
	}
}

// TestAccessLogNamesClient checks the order of the wrapping in Handler:
// the access log line names the client a trusted proxy forwarded for, not
// the proxy.
func TestAccessLogNamesClient(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	h := Handler(V2Gate(http.NotFoundHandler()), []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, log, true, nil)
	for _, tc := range []struct{ remote, xff, want string }{
		{"127.0.0.1:40000", "203.0.113.9", "remote=203.0.113.9:0"},
		{"198.51.100.1:40000", "203.0.113.9", "remote=198.51.100.1:40000"},
	} {
		buf.Reset()
		r := httptest.NewRequest(http.MethodGet, "/v2/", nil)
		r.RemoteAddr = tc.remote
		r.Header.Set("X-Forwarded-For", tc.xff)
		h.ServeHTTP(httptest.NewRecorder(), r)
		if !strings.Contains(buf.String(), tc.want) {
			t.Errorf("peer %s, XFF %s: access log %q, want %s", tc.remote, tc.xff, buf.String(), tc.want)
		}
	}
}

func FuzzForwarded(f *testing.F) {
	f.Add("203.0.113.9, 10.0.0.1", "https", "registry.example.com:443")
	f.Add("[::1]:80,unknown", "HTTP", "[::1]")
	f.Fuzz(func(t *testing.T, xff, proto, host string) {
		trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		h := http.Header{}
		h.Set("X-Forwarded-For", xff)
		h.Set("X-Forwarded-Proto", proto)
		h.Set("X-Forwarded-Host", host)
		pub := forwardedPublic(h, netip.MustParseAddr("10.0.0.1"), trusted)
		if !pub.Client.IsValid() {
			t.Fatalf("no client for XFF %q", xff)
		}
		if pub.Scheme != "" && pub.Scheme != "http" && pub.Scheme != "https" {
			t.Fatalf("scheme %q from %q", pub.Scheme, proto)
		}
		if pub.Host != "" && strings.ContainsAny(pub.Host, "/?#@ \t\r\n\\") {
			t.Fatalf("host %q accepted", pub.Host)
		}
	})
}
