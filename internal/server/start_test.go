package server

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"

	"wharf/internal/config"
	"wharf/internal/datadir"
)

// TestStartURL: the start line's url is what a client types: the scheme
// of the tls mode, the configured public name when there is one, else
// the listener's address with 127.0.0.1 for a wildcard.
func TestStartURL(t *testing.T) {
	t.Parallel()
	tcp := func(s string) net.Addr { return net.TCPAddrFromAddrPort(netipAddrPort(t, s)) }
	tests := []struct {
		cfg  config.Config
		addr string
		want string
	}{
		{config.Config{TLS: "auto"}, "[::]:5000", "https://127.0.0.1:5000"},
		{config.Config{TLS: "off"}, "0.0.0.0:41234", "http://127.0.0.1:41234"},
		{config.Config{TLS: "files"}, "10.1.2.3:5000", "https://10.1.2.3:5000"},
		{config.Config{TLS: "off"}, "[::1]:5000", "http://[::1]:5000"},
		{config.Config{TLS: "auto", TLSNames: []string{"registry.lan", "10.0.0.2"}}, "[::]:5000", "https://registry.lan:5000"},
		{config.Config{TLS: "acme", ACME: config.ACME{Domains: []string{"registry.example.com"}}}, "[::]:443", "https://registry.example.com"},
		{config.Config{TLS: "acme", ACME: config.ACME{Domains: []string{"registry.example.com"}}}, "[::]:8443", "https://registry.example.com:8443"},
		{config.Config{TLS: "off"}, "[::]:80", "http://127.0.0.1"},
		{config.Config{TLS: "files"}, "[::1]:443", "https://[::1]"},
		{config.Config{Role: config.RoleAllInOne, TLS: "off", Token: config.Token{Realm: "https://registry.example.com/auth/token"}}, "127.0.0.1:5000", "https://registry.example.com"},
		{config.Config{Role: config.RoleAllInOne, TLS: "off", TokenAddr: ":5001", Token: config.Token{Realm: "https://registry.example.com:5001/auth/token"}}, "127.0.0.1:5000", "http://127.0.0.1:5000"},
		{config.Config{Role: config.RoleRegistry, TLS: "off", Token: config.Token{Realm: "https://auth.example.com/auth"}}, "[::]:5000", "http://127.0.0.1:5000"},
	}
	for _, tc := range tests {
		if got := startURL(tc.cfg, tcp(tc.addr)); got != tc.want {
			t.Errorf("startURL(tls %s, names %v, %s) = %q, want %q", tc.cfg.TLS, tc.cfg.TLSNames, tc.addr, got, tc.want)
		}
	}
}

// TestLogStart: every start says the URL, and with tls: auto the CA file
// and how clients trust it; a start with the access log off says so.
func TestLogStart(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	ca := datadir.New(data).TLSCACert()
	tests := []struct {
		name    string
		cfg     config.Config
		want    []string
		wantNot []string
		lines   int
	}{
		{"auto", config.Config{TLS: "auto", Data: data, Auth: "token", Log: config.Log{Access: "on"}},
			[]string{`msg="wharf is serving" url=https://127.0.0.1:5000 addr=[::]:5000`, "ca=" + ca,
				"cp " + ca + " /etc/docker/certs.d/HOST:5000/ca.crt"}, []string{"access_log"}, 2},
		{"off without access log", config.Config{TLS: "off", Data: data, Auth: "none", Log: config.Log{Access: "off"}},
			[]string{`url=http://127.0.0.1:5000`, "access_log=off"}, []string{"ca=", "certs.d"}, 1},
	}
	for _, tc := range tests {
		var logs bytes.Buffer
		s := &Server{cfg: tc.cfg, log: slog.New(slog.NewTextHandler(&logs, nil))}
		s.logStart(net.TCPAddrFromAddrPort(netipAddrPort(t, "[::]:5000")))
		out := logs.String()
		if n := strings.Count(out, "\n"); n != tc.lines {
			t.Errorf("%s: %d lines, want %d:\n%s", tc.name, n, tc.lines, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: log lacks %q:\n%s", tc.name, w, out)
			}
		}
		for _, w := range tc.wantNot {
			if strings.Contains(out, w) {
				t.Errorf("%s: log has %q:\n%s", tc.name, w, out)
			}
		}
	}
}

func netipAddrPort(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}
