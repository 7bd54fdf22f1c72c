package certs

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth/token"
)

func TestParseNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      []string
		wantDNS []string
		wantIPs []string
		wantErr string
	}{
		{"dns", []string{"Registry.Example.com"}, []string{"registry.example.com"}, nil, ""},
		{"ipv4 and ipv6", []string{"10.0.0.3", "::1"}, nil, []string{"10.0.0.3", "::1"}, ""},
		{"mapped ipv4", []string{"::ffff:10.0.0.3"}, nil, []string{"10.0.0.3"}, ""},
		{"mixed and duplicates", []string{"localhost", "127.0.0.1", "LOCALHOST", "127.0.0.1"}, []string{"localhost"}, []string{"127.0.0.1"}, ""},
		{"wildcard", []string{"*.example.com"}, []string{"*.example.com"}, nil, ""},
		{"trailing dot", []string{"example.com."}, []string{"example.com"}, nil, ""},
		{"none", nil, nil, nil, "no names given"},
		{"empty", []string{" "}, nil, nil, "empty name"},
		{"port", []string{"registry:5000"}, nil, nil, "without the port"},
		{"url", []string{"https://registry"}, nil, nil, "not a URL"},
		{"brackets", []string{"[::1]"}, nil, nil, "without brackets"},
		{"zone", []string{"fe80::1%eth0"}, nil, nil, "zone"},
		{"bad ip", []string{"10.0.0.256"}, nil, nil, "looks like an IP address"},
		{"underscore", []string{"my_host"}, nil, nil, "not allowed"},
		{"hyphen", []string{"-host.example"}, nil, nil, "hyphen"},
		{"empty label", []string{"a..b"}, nil, nil, "empty label"},
		{"bare wildcard", []string{"*.com"}, nil, nil, "wildcard"},
		{"inner wildcard", []string{"a.*.com"}, nil, nil, "wildcard"},
		{"long label", []string{strings.Repeat("a", 64) + ".com"}, nil, nil, "longer than 63"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dns, ips, err := ParseNames(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrName) {
					t.Fatalf("err = %v, want ErrName mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotIPs []string
			for _, ip := range ips {
				gotIPs = append(gotIPs, ip.String())
			}
			if d := cmp.Diff(tc.wantDNS, dns); d != "" {
				t.Errorf("DNS (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantIPs, gotIPs); d != "" {
				t.Errorf("IPs (-want +got):\n%s", d)
			}
		})
	}
}

func TestNewCA(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t, token.KeyECDSAP256)
	c := ca.Cert
	if !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("IsCA=%v MaxPathLen=%d MaxPathLenZero=%v, want a CA limited to leaves", c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
	}
	if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("KeyUsage = %v", c.KeyUsage)
	}
	if c.Subject.CommonName != "Test CA" {
		t.Errorf("CN = %q", c.Subject.CommonName)
	}
}

func TestIssueServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		kind    token.KeyKind
		names   []string
		wantDNS []string
		wantIPs []string
		wantCN  string
	}{
		{"dns only", token.KeyECDSAP256, []string{"registry.example.com"}, []string{"registry.example.com"}, nil, "registry.example.com"},
		{"dns and ips", token.KeyECDSAP256, []string{"registry.example.com", "10.0.0.3", "localhost", "::1"},
			[]string{"registry.example.com", "localhost"}, []string{"10.0.0.3", "::1"}, "registry.example.com"},
		{"ip first", token.KeyECDSAP384, []string{"10.10.0.3", "auth-server.io"}, []string{"auth-server.io"}, []string{"10.10.0.3"}, "10.10.0.3"},
		{"rsa", token.KeyRSA2048, []string{"auth-server.io", "127.0.0.1"}, []string{"auth-server.io"}, []string{"127.0.0.1"}, "auth-server.io"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ca := newTestCA(t, token.KeyECDSAP256)
			certPEM, keyPEM, err := ca.IssueServer(tc.names, tc.kind, DefaultServerValidity)
			if err != nil {
				t.Fatal(err)
			}
			leaf := parseOne(t, certPEM)
			key, err := token.ParsePrivateKeyPEM(keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			if !samePublicKey(leaf.PublicKey, key.Public()) {
				t.Fatal("key does not match certificate")
			}
			var ips []string
			for _, ip := range leaf.IPAddresses {
				ips = append(ips, ip.String())
			}
			if d := cmp.Diff(tc.wantDNS, leaf.DNSNames); d != "" {
				t.Errorf("DNSNames (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantIPs, ips); d != "" {
				t.Errorf("IPAddresses (-want +got):\n%s", d)
			}
			if leaf.Subject.CommonName != tc.wantCN {
				t.Errorf("CN = %q, want %q", leaf.Subject.CommonName, tc.wantCN)
			}
			if leaf.IsCA {
				t.Error("leaf is a CA")
			}
			wantKU := x509.KeyUsageDigitalSignature
			if tc.kind == token.KeyRSA2048 {
				wantKU |= x509.KeyUsageKeyEncipherment
			}
			if leaf.KeyUsage != wantKU {
				t.Errorf("KeyUsage = %v, want %v", leaf.KeyUsage, wantKU)
			}
			if d := cmp.Diff([]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, leaf.ExtKeyUsage); d != "" {
				t.Errorf("ExtKeyUsage (-want +got):\n%s", d)
			}
			pool := x509.NewCertPool()
			pool.AddCert(ca.Cert)
			for _, n := range tc.names {
				if _, err := leaf.Verify(x509.VerifyOptions{DNSName: n, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
					t.Errorf("verify for %s: %v", n, err)
				}
			}
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.example.com", Roots: pool}); err == nil {
				t.Error("verified for a name it does not carry")
			}
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: tc.names[0], Roots: x509.NewCertPool()}); err == nil {
				t.Error("verified without the CA")
			}
		})
	}
}

func TestIssueServerRefuses(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t, token.KeyECDSAP256)
	for _, names := range [][]string{nil, {""}, {"ok.example", "bad name"}} {
		if _, _, err := ca.IssueServer(names, "", time.Hour); !errors.Is(err, ErrName) {
			t.Errorf("IssueServer(%q) err = %v, want ErrName", names, err)
		}
	}
	if _, _, err := ca.IssueServer([]string{"a.example"}, "", 0); err == nil {
		t.Error("zero validity accepted")
	}
	if _, _, err := (&Authority{Cert: ca.Cert}).IssueServer([]string{"a.example"}, "", time.Hour); err == nil || !strings.Contains(err.Error(), "CA key") {
		t.Errorf("issuing without a key: err = %v", err)
	}
	// A leaf cannot outlive its CA.
	certPEM, _, err := ca.IssueServer([]string{"a.example"}, "", 2*DefaultCAValidity)
	if err != nil {
		t.Fatal(err)
	}
	if got := parseOne(t, certPEM).NotAfter; got.After(ca.Cert.NotAfter) {
		t.Errorf("leaf ends %s after its CA %s", got, ca.Cert.NotAfter)
	}
}

func TestIssueSigning(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t, token.KeyECDSAP256)
	certPEM, keyPEM, err := ca.IssueSigning("Wharf token signer", "", DefaultSigningValidity)
	if err != nil {
		t.Fatal(err)
	}
	c := parseOne(t, certPEM)
	if c.KeyUsage != x509.KeyUsageDigitalSignature || len(c.ExtKeyUsage) != 0 || c.IsCA {
		t.Errorf("KeyUsage=%v ExtKeyUsage=%v IsCA=%v", c.KeyUsage, c.ExtKeyUsage, c.IsCA)
	}
	key, err := token.ParsePrivateKeyPEM(keyPEM)
	if err != nil || !samePublicKey(c.PublicKey, key.Public()) {
		t.Fatalf("key: %v", err)
	}
	// What registries do with the x5c header: the certificate must verify
	// against a bundle holding it, and against one holding the CA.
	for name, roots := range map[string]*x509.Certificate{"token.crt": c, "ca.crt": ca.Cert} {
		if err := token.CheckTrust([]*x509.Certificate{roots}, c); err != nil {
			t.Errorf("rootcertbundle %s: %v", name, err)
		}
	}
}

func TestLoadCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTestCA(t, token.KeyECDSAP256)
	other := newTestCA(t, token.KeyECDSAP256)
	keyPEM, _ := ca.KeyPEM()
	otherKey, _ := other.KeyPEM()
	leafPEM, _, err := ca.IssueServer([]string{"a.example"}, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	crt, key, wrongKey, leaf := write("ca.crt", ca.CertPEM()), write("ca.key", keyPEM), write("other.key", otherKey), write("leaf.crt", leafPEM)

	got, err := LoadCA(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Cert.Equal(ca.Cert) || !samePublicKey(got.Key.Public(), ca.Key.Public()) {
		t.Error("loaded CA differs")
	}
	for _, tc := range []struct{ name, crt, key, want string }{
		{"wrong key", crt, wrongKey, "does not belong"},
		{"not a CA", leaf, key, "not a CA"},
		{"missing", filepath.Join(dir, "nope"), key, "nope"},
	} {
		if _, err := LoadCA(tc.crt, tc.key); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
}

// testNames are what newTestCA may sign for: every name the tests issue.
var testNames = []string{"registry.example.com", "auth-server.io", "localhost", "a.example", "ok.example",
	"rsa.example", "old.example", "10.0.0.3", "10.10.0.3", "127.0.0.1", "::1"}

func newTestCA(t *testing.T, kind token.KeyKind) *Authority {
	t.Helper()
	ca, err := NewCA("Test CA", testNames, kind, DefaultCAValidity)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func parseOne(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	certs, err := token.ParseCertificatesPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 1 {
		t.Fatalf("%d certificates, want the leaf only", len(certs))
	}
	return certs[0]
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{"registry.example.com", "10.0.0.3", "::1", "*.a.b", "a:1", "[::1]", "", "x..y", "fe80::1%eth0", "ÿ.example", "1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		dns, ip, err := ParseName(name)
		if err != nil {
			if !errors.Is(err, ErrName) {
				t.Fatalf("error %v is not ErrName", err)
			}
			return
		}
		if (dns == "") == (ip == nil) {
			t.Fatalf("ParseName(%q) = %q, %v: want exactly one", name, dns, ip)
		}
		// Canonical forms parse to themselves.
		canon := dns
		if ip != nil {
			canon = ip.String()
		}
		dns2, ip2, err := ParseName(canon)
		if err != nil || dns2 != dns || !ip2.Equal(ip) {
			t.Fatalf("ParseName(%q) = %q, %v, %v; not stable from %q", canon, dns2, ip2, err, name)
		}
		// Whatever is accepted makes a CA constrained to it, whose
		// certificate for it verifies.
		ca, err := NewCA("Fuzz CA", []string{name}, "", time.Hour)
		if err != nil {
			t.Fatalf("accepted %q but cannot make a CA for it: %v", name, err)
		}
		certPEM, _, err := ca.IssueServer([]string{name}, "", time.Hour)
		if err != nil {
			t.Fatalf("accepted %q but cannot issue: %v", name, err)
		}
		host := canon
		if strings.HasPrefix(host, "*.") {
			host = "x" + host[1:]
		}
		pool := x509.NewCertPool()
		pool.AddCert(ca.Cert)
		if _, err := parseOne(t, certPEM).Verify(x509.VerifyOptions{DNSName: host, Roots: pool}); err != nil {
			t.Fatalf("certificate for %q does not verify for %q: %v", name, host, err)
		}
	})
}
