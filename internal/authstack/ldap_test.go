package authstack

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wharf/internal/auth/authn"
	"wharf/internal/config"
	"wharf/internal/testserver"
)

func TestLDAPAuthenticatorAbsent(t *testing.T) {
	t.Parallel()
	a, err := ldapAuthenticator(nil, slog.New(slog.DiscardHandler))
	if a != nil || err != nil {
		t.Fatalf("%v, %v; want nothing", a, err)
	}
}

func TestLDAPAuthenticatorFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := config.LDAP{Addr: "127.0.0.1:1", Base: "dc=x", Filter: "(uid=${account})", BindDN: "cn=r,dc=x"}
	tests := []struct {
		name   string
		change func(*config.LDAP)
		want   string
	}{
		{"missing password file", func(l *config.LDAP) { l.BindPasswordFile = filepath.Join(dir, "nope") }, "ldap_auth.bind_password_file"},
		{"empty password file", func(l *config.LDAP) { l.BindPasswordFile = empty }, "is empty"},
		{"missing CA", func(l *config.LDAP) {
			l.BindPasswordFile, l.TLS, l.CACertificate = "", "always", filepath.Join(dir, "nope")
		}, "ldap_auth.ca_certificate"},
		{"CA not PEM", func(l *config.LDAP) { l.BindDN, l.TLS, l.CACertificate = "", "always", empty }, "ca_certificate"},
		{"bad filter", func(l *config.LDAP) { l.BindDN, l.Filter = "", "(cn=*${account})" }, "ldap_auth: ldap: filter"},
	}
	for _, tc := range tests {
		l := base
		tc.change(&l)
		if _, err := ldapAuthenticator(&l, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error naming %q", tc.name, err, tc.want)
		}
	}
}

// The section as a user writes it reaches a working backend: the password
// file read and trimmed, the CA trusted, the warnings logged.
func TestLDAPAuthenticator(t *testing.T) {
	d := testserver.StartSlapd(t)
	d.Add(t, testserver.Entry{DN: "uid=carol," + testserver.SlapdSuffix, Attrs: []testserver.Attr{
		{"objectClass", "inetOrgPerson"}, {"uid", "carol"}, {"cn", "carol"}, {"sn", "c"}, {"userPassword", testserver.SSHA("carol:pw")}}},
		testserver.Entry{DN: "cn=deployers," + testserver.SlapdSuffix, Attrs: []testserver.Attr{
			{"objectClass", "groupOfNames"}, {"cn", "deployers"}, {"member", "uid=carol," + testserver.SlapdSuffix}}})
	pw, err := os.ReadFile(d.ReaderPasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(t.TempDir(), "reader.pw")
	if err := os.WriteFile(pwFile, append(pw, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tls, addr string
		ca        string
		warn      string
	}{
		{"none", d.Addr, "", "clear text"},
		{"", d.Addr, d.CAFile, "has no effect"},
		{"starttls", d.Addr, d.CAFile, ""},
		{"always", d.TLSAddr, d.CAFile, ""},
	} {
		var logs bytes.Buffer
		section := &config.LDAP{Addr: tc.addr, TLS: tc.tls, CACertificate: tc.ca, BindDN: d.ReaderDN, BindPasswordFile: pwFile,
			Base: testserver.SlapdSuffix, Filter: "(uid=${account})", GroupBase: testserver.SlapdSuffix}
		a, err := ldapAuthenticator(section, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		res, labels, err := a.Authenticate(context.Background(), "carol", "carol:pw")
		if res != authn.Accepted || err != nil {
			t.Errorf("tls %q: %v, %v", tc.tls, res, err)
		}
		if got := labels["groups"]; len(got) != 1 || got[0] != "deployers" {
			t.Errorf("tls %q: labels %v; want groups [deployers]", tc.tls, labels)
		}
		if tc.warn != "" && !strings.Contains(logs.String(), tc.warn) {
			t.Errorf("tls %q: no warning %q in\n%s", tc.tls, tc.warn, logs.String())
		}
		if strings.Contains(logs.String(), strings.TrimSpace(string(pw))) {
			t.Errorf("the service account's password reached the log")
		}
		_ = a.Close()
	}
}
