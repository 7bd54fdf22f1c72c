package certs

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth/token"
)

// forgery is a leaf that whoever holds ca.key could sign, bypassing
// IssueServer's refusal; host is the name a client would check it for.
type forgery struct {
	name string
	tmpl x509.Certificate
	host string
}

var (
	forgedDNS = forgery{"DNS name", x509.Certificate{Subject: pkix.Name{CommonName: "evil.example"}, DNSNames: []string{"evil.example"}}, "evil.example"}
	forgedIP  = forgery{"IP address", x509.Certificate{Subject: pkix.Name{CommonName: "evil.example"}, IPAddresses: []net.IP{{10, 9, 9, 9}}}, "10.9.9.9"}
	// OpenSSL falls back to the subject CN when there is no DNS SAN.
	forgedCN = forgery{"subject CN only", x509.Certificate{Subject: pkix.Name{CommonName: "evil.example"}}, "evil.example"}
)

// TestConstrainedCA checks what a stolen ca.key is worth: a leaf it signs
// for a foreign name or address fails verification in Go's x509 and in
// `openssl verify`, while the server certificate wharf made verifies for
// every name. The same forgeries signed by an unconstrained CA (what
// earlier versions made) verify, so the refusals are the constraints'.
func TestConstrainedCA(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		make   func(t *testing.T, dir string) // writes ca.crt, ca.key and server.crt into dir
		names  []string                       // the server certificate's
		forged []forgery
	}{
		{"certs init", func(t *testing.T, dir string) {
			_, err := Init(InitOptions{Dir: dir, Names: []string{"registry.example.com", "10.0.0.3"}})
			must(t, err)
		}, []string{"registry.example.com", "10.0.0.3"}, []forgery{forgedDNS, forgedIP, forgedCN}},
		{"certs init, addresses only", func(t *testing.T, dir string) {
			_, err := Init(InitOptions{Dir: dir, Names: []string{"10.0.0.3", "::1"}})
			must(t, err)
		}, []string{"10.0.0.3", "::1"}, []forgery{forgedDNS, forgedIP, forgedCN}},
		{"certs init, names only", func(t *testing.T, dir string) {
			_, err := Init(InitOptions{Dir: dir, Names: []string{"registry.example.com"}})
			must(t, err)
		}, []string{"registry.example.com"}, []forgery{forgedDNS, forgedIP, forgedCN}},
		{"tls auto", func(t *testing.T, dir string) {
			_, err := EnsureServerCert(dir, AutoOptions{Names: []string{"localhost", "127.0.0.1", "::1"}, Optional: []string{"wharf-host"}})
			must(t, err)
		}, []string{"localhost", "127.0.0.1", "::1", "wharf-host"}, []forgery{forgedDNS, forgedIP, forgedCN}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tc.make(t, dir)
			caPEM, serverPEM := readFile(t, filepath.Join(dir, CACertFile)), readFile(t, filepath.Join(dir, ServerCertFile))
			ca, err := LoadCA(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile))
			must(t, err)
			if !ca.Cert.PermittedDNSDomainsCritical || !ca.Constrained() {
				t.Fatal("the CA has no critical name constraints")
			}
			for _, n := range tc.names {
				if err := verifyGo(caPEM, serverPEM, n); err != nil {
					t.Errorf("server.crt for %s, Go: %v", n, err)
				}
				if out, err := verifyOpenSSL(t, caPEM, serverPEM, n); err != nil {
					t.Errorf("server.crt for %s, openssl: %v\n%s", n, err, out)
				}
			}
			legacy := legacyCA(t)
			for _, f := range tc.forged {
				leaf := forge(t, ca, f.tmpl)
				if f.name != forgedCN.name { // Go ignores the CN: nothing to constrain
					var inv x509.CertificateInvalidError
					if err := verifyGo(caPEM, leaf, f.host); !errors.As(err, &inv) || inv.Reason != x509.CANotAuthorizedForThisName {
						t.Errorf("forged %s for %s, Go: err = %v, want CANotAuthorizedForThisName", f.name, f.host, err)
					}
					if err := verifyGo(legacy.CertPEM(), forge(t, legacy, f.tmpl), f.host); err != nil {
						t.Errorf("control: forged %s from an unconstrained CA, Go: %v", f.name, err)
					}
				}
				if out, err := verifyOpenSSL(t, caPEM, leaf, f.host); err == nil || !strings.Contains(out, "subtree violation") {
					t.Errorf("forged %s for %s, openssl: err = %v, want a subtree violation\n%s", f.name, f.host, err, out)
				}
				if out, err := verifyOpenSSL(t, legacy.CertPEM(), forge(t, legacy, f.tmpl), f.host); err != nil {
					t.Errorf("control: forged %s from an unconstrained CA, openssl: %v\n%s", f.name, err, out)
				}
			}
			// The lawful way refuses too, naming the name.
			if _, _, err := ca.IssueServer([]string{"evil.example"}, "", time.Hour); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "evil.example") {
				t.Errorf("IssueServer(evil.example) err = %v, want ErrForbidden naming it", err)
			}
		})
	}
}

// TestCAReplaced: a required name the CA may not sign for brings a new
// CA, for which the new server certificate verifies (Go and openssl) and
// foreign names still fail; an optional name (the host's) is left out
// instead, keeping the CA clients trust.
func TestCAReplaced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := []string{"localhost", "127.0.0.1", "::1"}
	ensure := func(names, optional []string) AutoResult {
		t.Helper()
		res, err := EnsureServerCert(dir, AutoOptions{Names: names, Optional: optional, RenewBefore: time.Hour})
		must(t, err)
		return res
	}
	first := ensure(base, []string{"host-a"})
	if !first.NewCA || first.Replaced || !first.Issued {
		t.Fatalf("first start: %+v", first)
	}
	oldCA := readFile(t, first.CACert)

	// The host name changes (a new container): the CA stays.
	res := ensure(base, []string{"host-b"})
	if res.NewCA || res.Issued || !cmp.Equal(res.LeftOut, []string{"host-b"}) {
		t.Fatalf("new host name: %+v, want the CA and certificate kept and host-b left out", res)
	}
	if !bytes.Equal(oldCA, readFile(t, res.CACert)) {
		t.Fatal("a new host name replaced the CA")
	}
	// Fewer names: nothing to do.
	if res := ensure(base[:1], nil); res.NewCA || res.Issued {
		t.Fatalf("fewer names: %+v", res)
	}

	grown := append(append([]string{}, base...), "registry.internal", "10.0.0.7")
	res = ensure(grown, []string{"host-b"})
	if !res.NewCA || !res.Replaced || !res.Issued || !strings.Contains(res.CAReason, "registry.internal") || !strings.Contains(res.CAReason, "10.0.0.7") {
		t.Fatalf("grown names: %+v, want a new CA whose reason names registry.internal and 10.0.0.7", res)
	}
	if len(res.LeftOut) != 0 {
		t.Errorf("left out %v: the new CA is made for the host name too", res.LeftOut)
	}
	newCA, serverPEM := readFile(t, res.CACert), readFile(t, res.CertPath)
	if bytes.Equal(oldCA, newCA) {
		t.Fatal("ca.crt unchanged")
	}
	for _, n := range append(grown, "host-b") {
		if err := verifyGo(newCA, serverPEM, n); err != nil {
			t.Errorf("new server.crt for %s, Go: %v", n, err)
		}
		if out, err := verifyOpenSSL(t, newCA, serverPEM, n); err != nil {
			t.Errorf("new server.crt for %s, openssl: %v\n%s", n, err, out)
		}
	}
	ca, err := LoadCA(res.CACert, filepath.Join(dir, CAKeyFile))
	must(t, err)
	for _, f := range []forgery{forgedDNS, forgedIP} {
		if err := verifyGo(newCA, forge(t, ca, f.tmpl), f.host); err == nil {
			t.Errorf("forged %s verifies against the new CA", f.name)
		}
	}
	assertMode(t, filepath.Join(dir, CAKeyFile), keyMode)
	if again := ensure(grown, []string{"host-b"}); again.NewCA || again.Issued {
		t.Fatalf("second start with the same names: %+v", again)
	}
}

// TestUnconstrainedCAKept: a CA made before constraints existed keeps
// serving (its clients keep working) and is reported; new names are
// issued from it as before.
func TestUnconstrainedCAKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	legacy := legacyCA(t)
	keyPEM, err := legacy.KeyPEM()
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, CACertFile), legacy.CertPEM(), certMode))
	must(t, os.WriteFile(filepath.Join(dir, CAKeyFile), keyPEM, keyMode))
	for _, names := range [][]string{{"localhost"}, {"localhost", "registry.internal"}} {
		res, err := EnsureServerCert(dir, AutoOptions{Names: names, RenewBefore: time.Hour})
		must(t, err)
		if res.NewCA || !res.Unconstrained || !res.Issued {
			t.Fatalf("names %v: %+v, want the old CA kept, reported, and a certificate from it", names, res)
		}
		if err := verifyGo(legacy.CertPEM(), readFile(t, res.CertPath), names[len(names)-1]); err != nil {
			t.Errorf("server.crt from the old CA: %v", err)
		}
	}
	infos, err := Describe(legacy.CertPEM())
	must(t, err)
	if s := infos[0].String(); !strings.Contains(s, "constraints:    none") {
		t.Errorf("certs show of an unconstrained CA:\n%s", s)
	}
}

func TestDescribeConstraints(t *testing.T) {
	t.Parallel()
	ca, err := NewCA("Test CA", []string{"registry.example.com", "*.apps.example", "10.0.0.3"}, "", time.Hour)
	must(t, err)
	infos, err := Describe(ca.CertPEM())
	must(t, err)
	want := []string{"permitted DNS registry.example.com", "permitted DNS .apps.example", "permitted IP 10.0.0.3/32"}
	if d := cmp.Diff(want, infos[0].NameConstraints); d != "" {
		t.Errorf("NameConstraints (-want +got):\n%s", d)
	}
	ca, err = NewCA("Test CA", []string{"registry.example.com"}, "", time.Hour)
	must(t, err)
	want = []string{"permitted DNS registry.example.com", "excluded IP 0.0.0.0/0", "excluded IP ::/0"}
	if d := cmp.Diff(want, constraintSummary(ca.Cert)); d != "" {
		t.Errorf("names only (-want +got):\n%s", d)
	}
}

func TestForbidden(t *testing.T) {
	t.Parallel()
	ca, err := NewCA("Test CA", []string{"registry.example.com", "*.apps.example", "10.0.0.3", "fd00::1"}, "", time.Hour)
	must(t, err)
	tests := []struct {
		name string
		ok   bool
	}{
		{"registry.example.com", true},
		{"REGISTRY.example.com", true},
		{"x.registry.example.com", true}, // X.509 permits a name's subdomains too
		{"example.com", false},
		{"evilregistry.example.com", false},
		{"a.apps.example", true},
		{"*.apps.example", true},
		{"apps.example", false},
		{"10.0.0.3", true},
		{"::ffff:10.0.0.3", true},
		{"10.0.0.4", false},
		{"fd00::1", true},
		{"fd00::2", false},
	}
	for _, tc := range tests {
		got := len(ca.Forbidden([]string{tc.name})) == 0
		if got != tc.ok {
			t.Errorf("permits %s = %v, want %v", tc.name, got, tc.ok)
		}
		if !tc.ok {
			continue
		}
		// What Forbidden permits, Go's x509 accepts in a leaf.
		certPEM, _, err := ca.IssueServer([]string{tc.name}, "", time.Hour)
		must(t, err)
		host := strings.Replace(tc.name, "*", "x", 1)
		if err := verifyGo(ca.CertPEM(), certPEM, host); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// legacyCA is a CA as wharf made it before name constraints.
func legacyCA(t *testing.T) *Authority {
	t.Helper()
	key, err := token.GenerateKey(token.KeyECDSAP256)
	must(t, err)
	tmpl, err := template("Wharf CA", time.Hour, time.Now())
	must(t, err)
	tmpl.IsCA, tmpl.MaxPathLenZero = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	return &Authority{Cert: cert, Key: key}
}

// forge signs tmpl with the CA's key directly, as a thief of ca.key would.
func forge(t *testing.T, ca *Authority, tmpl x509.Certificate) []byte {
	t.Helper()
	key, err := token.GenerateKey(token.KeyECDSAP256)
	must(t, err)
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, ca.Cert, key.Public(), ca.Key)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	return token.EncodeCertificatesPEM(cert)
}

func verifyGo(caPEM, leafPEM []byte, host string) error {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return errors.New("no CA certificate")
	}
	leaf, err := token.ParseCertificatesPEM(leafPEM)
	if err != nil {
		return err
	}
	_, err = leaf[0].Verify(x509.VerifyOptions{DNSName: host, Roots: pool})
	return err
}

// verifyOpenSSL runs `openssl verify -CAfile ca.crt -verify_hostname
// host leaf.crt` (-verify_ip for an address), what curl and nginx's
// upstream checks rest on.
func verifyOpenSSL(t *testing.T, caPEM, leafPEM []byte, host string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is needed to check what its clients accept (apt-get install openssl): %v", err)
	}
	dir := t.TempDir()
	caFile, leafFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "leaf.crt")
	must(t, os.WriteFile(caFile, caPEM, 0o600))
	must(t, os.WriteFile(leafFile, leafPEM, 0o600))
	flag := "-verify_hostname"
	if net.ParseIP(host) != nil {
		flag = "-verify_ip"
	}
	out, err := exec.CommandContext(t.Context(), bin, "verify", "-CAfile", caFile, flag, host, leafFile).CombinedOutput()
	return string(out), err
}
