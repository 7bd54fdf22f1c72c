package dockerauth

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"wharf/internal/auth/authn/static"
	"wharf/internal/config"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "auth_config.yml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// has reports whether a line at level contains every one of subs.
func (b *logBuffer) has(level string, subs ...string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range strings.Split(b.buf.String(), "\n") {
		ok := strings.Contains(l, "level="+level)
		for _, s := range subs {
			ok = ok && strings.Contains(l, s)
		}
		if ok {
			return true
		}
	}
	return false
}

func newLog() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

// classicAuth is the auth server of the classic stack: TLS with a
// certificate that also signs tokens, two users and anonymous access, and a
// deny-by-default ACL.
const classicAuth = `server:
  addr: ":5001"
  certificate: "/ssl/auth-server.crt"
  key: "/ssl/auth-server.key"
token:
  issuer: "Auth Service"   # the registry's auth.token.issuer
  expiration: 900
users:
  "admin":
    password: "$2y$05$LO.vzwpWC5LZGqThvEfznu8qhb5SGqvBSWY1J3yZ4AxtMRZ3kN5jC"
  "test":
    password: "$2y$05$WuwBasGDAgr.QCbGIjKJaep4dhxeai9gNZdmBnQXqpKly57oNutya"
  "": {}
acl:
  - match: {account: "admin"}
    actions: ["*"]
  - match: {account: "test"}
    actions: ["pull"]
  - match: {account: "/.+/"}
    actions: ["pull"]
  - match: {account: "", name: "hello-world"}
    actions: ["pull"]
`

// authBase is the translation of a file with only what is required.
func authBase() config.Config {
	c := config.Default()
	c.Role = config.RoleAuth
	c.Auth = "token"
	c.Token = config.Token{Issuer: "Auth Service", Expiration: config.Duration(900 * time.Second)}
	return c
}

// ignoreParsed leaves Users and ACL to the tests that check them.
var ignoreParsed = cmpopts.IgnoreFields(config.Config{}, "Users", "ACL")

func TestLoadClassicStack(t *testing.T) {
	t.Parallel()
	log, logs := newLog()
	got, err := Load(writeConfig(t, classicAuth), log)
	if err != nil {
		t.Fatal(err)
	}
	want := authBase()
	want.Addr = ":5001"
	want.TLS = "files"
	want.TLSFiles = config.TLSFiles{Certificate: "/ssl/auth-server.crt", Key: "/ssl/auth-server.key"}
	// docker_auth signs with the server's certificate when token names none.
	want.Token.Certificate, want.Token.Key = "/ssl/auth-server.crt", "/ssl/auth-server.key"
	if diff := cmp.Diff(want, got, ignoreParsed); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
	// users and acl are parsed as wharf.yml's are: the file's hashes, the
	// anonymous user, the rules in order with their lines.
	wantUsers := static.Users{
		"admin": {Password: "$2y$05$LO.vzwpWC5LZGqThvEfznu8qhb5SGqvBSWY1J3yZ4AxtMRZ3kN5jC"},
		"test":  {Password: "$2y$05$WuwBasGDAgr.QCbGIjKJaep4dhxeai9gNZdmBnQXqpKly57oNutya"},
		"":      {},
	}
	if diff := cmp.Diff(wantUsers, got.Users); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if r := got.ACL.Rules; !got.ACL.Given || len(r) != 4 || r[0].Line != 15 || r[3].Line != 21 || *r[3].Match.Name != "hello-world" || r[1].Actions[0] != "pull" {
		t.Errorf("acl: given %v, rules %+v; want 4 rules, at lines 15 to 21", got.ACL.Given, r)
	}
	if logs.has("WARN") {
		t.Errorf("warnings logged for the classic config")
	}
	// docker_auth has no service: it issues for whatever service the
	// client names, and config allows that for the auth role.
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	const required = "server: {addr: \":5001\", certificate: /s.crt, key: /s.key}\ntoken: {issuer: Auth Service, expiration: 900}\nusers: {}\nacl: []\n"
	tests := []struct {
		name string
		body string
		want func(*config.Config)
		logs [][]string // level, then substrings
	}{
		{name: "required keys only", body: required, want: func(*config.Config) {}},
		{name: "a separate token key", body: `server: {addr: "127.0.0.1:5001", net: tcp}
token: {issuer: Auth Service, expiration: 900, certificate: /t.crt, key: /t.key, disable_legacy_key_id: true}
users: {}
acl: []
`,
			want: func(c *config.Config) {
				c.Addr, c.TLS, c.TLSFiles = "127.0.0.1:5001", "off", config.TLSFiles{}
				c.Token.Certificate, c.Token.Key = "/t.crt", "/t.key"
			},
			logs: [][]string{{"INFO", "disable_legacy_key_id", "line 2"}}},
		{name: "hsts and TLS versions", body: strings.Replace(required, "key: /s.key}", "key: /s.key, hsts: true, tls_min_version: TLS10}", 1),
			want: func(c *config.Config) { c.Headers = map[string][]string{"Strict-Transport-Security": {hsts}} },
			logs: [][]string{{"INFO", "tls_min_version"}}},
		{name: "numeric TLS version", body: strings.Replace(required, "key: /s.key}", "key: /s.key, tls_min_version: \"0x0303\"}", 1),
			want: func(*config.Config) {}},
		{name: "real IP header without ip rules", body: strings.Replace(required, "key: /s.key}", "key: /s.key, real_ip_header: X-Forwarded-For, real_ip_pos: -1}", 1),
			want: func(*config.Config) {}, logs: [][]string{{"INFO", "real_ip_header", "header=X-Forwarded-For", "pos=-1"}}},
		{name: "letsencrypt beside a certificate", body: strings.Replace(required, "key: /s.key}", "key: /s.key, letsencrypt: {email: a@b.c, cache_dir: /le}}", 1),
			want: func(*config.Config) {}, logs: [][]string{{"INFO", "letsencrypt ignored"}}},
		{name: "empty backends are absent", body: required + "ldap_auth:\nacl_mongo: ~\n", want: func(*config.Config) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			log, logs := newLog()
			got, err := Load(writeConfig(t, tc.body), log)
			if err != nil {
				t.Fatal(err)
			}
			want := authBase()
			want.Addr = ":5001"
			want.TLS = "files"
			want.TLSFiles = config.TLSFiles{Certificate: "/s.crt", Key: "/s.key"}
			want.Token.Certificate, want.Token.Key = "/s.crt", "/s.key"
			tc.want(&want)
			if diff := cmp.Diff(want, got, ignoreParsed); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
			if got.Users == nil || !got.ACL.Given {
				t.Errorf("users %v, acl given %v; want users: {} and acl: [] read", got.Users, got.ACL.Given)
			}
			for _, l := range tc.logs {
				if !logs.has(l[0], l[1:]...) {
					t.Errorf("no %s log line with %q", l[0], l[1:])
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	base := func(extra string) string { return classicAuth + extra }
	with := func(old, repl string) string { return strings.Replace(classicAuth, old, repl, 1) }
	type tcase struct {
		name, body string
		is         error
		want       []string
	}
	tests := []tcase{
		{"unknown top-level key", base("registry: {}\n"), ErrUnknownKey, []string{"line 23", "unknown key registry"}},
		{"misspelt acl", with("acl:", "acls:"), ErrUnknownKey, []string{"line 14", "unknown key acls (did you mean acl?)", "acl: required"}},
		{"unknown server key", with("  addr:", "  listen: \":1\"\n  addr:"), ErrUnknownKey, []string{"line 2", "server.listen"}},
		{"upper-case key", with("token:", "Token:"), ErrUnknownKey, []string{"line 5", "keys are lower case: token"}},
		{"repeated key", with("  expiration: 900", "  expiration: 900\n  expiration: 60"), nil, []string{"line 8", "token.expiration: repeated (first at line 7)"}},
		{"path prefix", with("  addr:", "  path_prefix: /docker\n  addr:"), ErrNotSupported, []string{"line 2", "not supported yet: server.path_prefix"}},
		{"unix socket", with("  addr:", "  net: unix\n  addr:"), ErrNotSupported, []string{"not supported yet: server.net unix"}},
		{"bad net", with("  addr:", "  net: udp\n  addr:"), nil, []string{"server.net"}},
		{"letsencrypt without certificate", "server:\n  addr: :5001\n  letsencrypt: {email: a@b.c, cache_dir: /le}\ntoken: {issuer: i, expiration: 9, certificate: /t, key: /k}\nusers: {}\nacl: []\n",
			ErrNotSupported, []string{"line 3", "not supported yet: server.letsencrypt"}},
		{"TLS 1.3 floor", with("  key: \"/ssl/auth-server.key\"", "  key: /k\n  tls_min_version: TLS13"), ErrNotSupported, []string{"line 5", "server.tls_min_version TLS13"}},
		{"bad TLS version", with("  key: \"/ssl/auth-server.key\"", "  key: /k\n  tls_min_version: TLS9"), nil, []string{"server.tls_min_version", "TLS9"}},
		{"curves", with("  key: \"/ssl/auth-server.key\"", "  key: /k\n  tls_curve_preferences: [X25519]"), ErrNotSupported, []string{"server.tls_curve_preferences"}},
		{"cipher suites", with("  key: \"/ssl/auth-server.key\"", "  key: /k\n  tls_cipher_suites: [TLS_AES_128_GCM_SHA256]"), ErrNotSupported, []string{"server.tls_cipher_suites"}},
		{"real IP header with ip rules", with("  key: \"/ssl/auth-server.key\"", "  key: /k\n  real_ip_header: X-Real-IP") + "  - match: {ip: 127.0.0.0/8}\n    actions: [\"*\"]\n",
			ErrNotSupported, []string{"line 5", "server.real_ip_header", "ip match at line 24"}},
		{"bad real IP position", with("  key: \"/ssl/auth-server.key\"", "  key: /k\n  real_ip_pos: last"), nil, []string{"server.real_ip_pos", "whole number"}},
		{"no addr", with("  addr: \":5001\"\n", ""), nil, []string{"line 1", "server.addr: required"}},
		{"no issuer", with("  issuer: \"Auth Service\"   # the registry's auth.token.issuer\n", ""), nil, []string{"token.issuer: required"}},
		{"no expiration", with("  expiration: 900\n", ""), nil, []string{"line 5", "token.expiration: required"}},
		{"zero expiration", with("expiration: 900", "expiration: 0"), nil, []string{"line 7", "must be positive"}},
		{"expiration as a duration", with("expiration: 900", "expiration: 15m"), nil, []string{"line 7", "\"15m\" is not a whole number"}},
		{"server certificate without key", with("  key: \"/ssl/auth-server.key\"\n", ""), nil, []string{"server: certificate and key go together"}},
		{"token certificate without key", with("  expiration: 900", "  expiration: 900\n  certificate: /t.crt"), nil, []string{"line 8", "token: certificate and key go together"}},
		{"no signing key", "server: {addr: \":5001\"}\ntoken: {issuer: i, expiration: 900}\nusers: {}\nacl: []\n", nil, []string{"line 2", "token: no signing key"}},
		{"no users", "server: {addr: \":5001\", certificate: c, key: k}\ntoken: {issuer: i, expiration: 900}\nacl: []\n", nil, []string{"users: required"}},
		{"null users", "server: {addr: \":5001\", certificate: c, key: k}\ntoken: {issuer: i, expiration: 900}\nusers:\nacl: []\n", nil, []string{"line 3", "users: required"}},
		{"users as a list", "server: {addr: \":5001\", certificate: c, key: k}\ntoken: {issuer: i, expiration: 900}\nusers: [admin]\nacl: []\n", nil, []string{"line 3", "users: must be a mapping"}},
		{"bad user", with("    password: \"$2y$05$WuwBasGDAgr", "    pasword: \"$2y$05$WuwBasGDAgr"), nil,
			[]string{"line 12", `users: unknown key "pasword" in user "test" (did you mean "password"?)`}},
		{"bad rule", with("  - match: {account: \"test\"}", "  - match: {acount: \"test\"}"), nil,
			[]string{"line 17", `acl: unknown key "acount" in match (did you mean "account"?)`}},
		{"acl as a mapping", "server: {addr: \":5001\", certificate: c, key: k}\ntoken: {issuer: i, expiration: 900}\nusers: {}\nacl: {admin: all}\n", nil, []string{"line 4", "acl: must be a list"}},
		{"quoted boolean", with("  expiration: 900", "  expiration: 900\n  disable_legacy_key_id: \"true\""), nil, []string{"line 8", "token.disable_legacy_key_id"}},
		{"section given a value", with("token:\n  issuer: \"Auth Service\"   # the registry's auth.token.issuer\n  expiration: 900\n", "token: yes\n"), nil, []string{"line 5", "token: must be a mapping"}},
		{"not a mapping", "- server\n", nil, []string{"line 1", "the file: must be a mapping"}},
		{"bad YAML", "server:\n\taddr: x\n", nil, []string{"yaml"}},
		{"empty file", "", nil, []string{"server.addr: required", "token.issuer: required", "token.expiration: required", "users: required", "acl: required", "no signing key"}},
	}
	for _, b := range backends {
		tests = append(tests, tcase{b, base(b + ":\n  some: setting\n"), ErrNotSupported, []string{"line 23", "not supported yet: " + b}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := writeConfig(t, tc.body)
			_, err := Load(p, nil)
			if err == nil {
				t.Fatalf("loaded; want an error mentioning %q", tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error does not wrap %v:\n%v", tc.is, err)
			}
			for _, s := range append(tc.want, "dockerauth: "+p) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not mention %q:\n%v", s, err)
				}
			}
		})
	}
}

func TestLoadNoFile(t *testing.T) {
	t.Parallel()
	if _, err := Load("", nil); err == nil || !strings.Contains(err.Error(), "auth_config.yml") {
		t.Errorf("Load(\"\") = %v, want an error asking for the file", err)
	}
	missing := filepath.Join(t.TempDir(), "nope.yml")
	if _, err := Load(missing, nil); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load of a missing file = %v", err)
	}
}

// An issuer quoted twice keeps a pair of quotes and never matches the
// registry's: Load warns naming the line, Warnings names the key.
func TestQuoteWarnings(t *testing.T) {
	t.Parallel()
	body := strings.Replace(classicAuth, `issuer: "Auth Service"`, `issuer: '"Auth Service"'`, 1)
	log, logs := newLog()
	c, err := Load(writeConfig(t, body), log)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`token.issuer is "\"Auth Service\"" with literal quotes in the value itself: it matches no token.issuer written without them (it was quoted twice, e.g. '"…"' in YAML or KEY='"…"' in an environment variable or env-file); quote it once or not at all: Auth Service`}
	if got := Warnings(c); !slices.Equal(got, want) {
		t.Errorf("Warnings = %q, want %q", got, want)
	}
	if !logs.has("WARN", "token.issuer", "literal quotes", `source="line 6"`) {
		t.Errorf("no warning naming line 6")
	}
	clean, err := Load(writeConfig(t, classicAuth), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := Warnings(clean); w != nil {
		t.Errorf("Warnings of the classic config = %q", w)
	}
}

func ExampleWarnings() {
	c := config.Config{Addr: ":5001", Token: config.Token{Issuer: `'Auth Service'`}}
	for _, w := range Warnings(c) {
		fmt.Println(w)
	}
	// Output:
	// token.issuer is "'Auth Service'" with literal quotes in the value itself: it matches no token.issuer written without them (it was quoted twice, e.g. '"…"' in YAML or KEY='"…"' in an environment variable or env-file); quote it once or not at all: Auth Service
}
