package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// expiredTLSServer starts an HTTPS server whose self-signed certificate
// for 127.0.0.1 expired a day ago, and returns it with the certificate's
// file, to be trusted with --ca.
func expiredTLSServer(t *testing.T) (*httptest.Server, string, time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	notAfter := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "expired test server"},
		NotBefore: notAfter.Add(-30 * 24 * time.Hour), NotAfter: notAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, writePEM(t, der), notAfter
}

// writePEM writes a certificate where --ca can read it.
func writePEM(t *testing.T, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDoctorNamesTheCertificateProblem: a registry or token realm whose
// certificate this machine refuses is reported as that, with the fix
// (trust the CA, use or add a name, renew), never as a server to start or
// a firewall to open. The servers are real HTTPS servers: httptest's own
// CA (untrusted, for 127.0.0.1 and example.com) and an expired one.
func TestDoctorNamesTheCertificateProblem(t *testing.T) {
	t.Parallel()
	secure := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(secure.Close)
	httptestCA := writePEM(t, secure.Certificate().Raw)
	expired, expiredCA, expiredOn := expiredTLSServer(t)
	_, port, _ := net.SplitHostPort(secure.Listener.Addr().String())
	byName := "https://localhost:" + port
	// A plain-HTTP registry whose challenge sends clients to the realm.
	registry := func(realm string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`/auth/token",service="wharf"`)
			w.WriteHeader(http.StatusUnauthorized)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	hostOf := func(u string) string { return strings.TrimPrefix(u, "https://") }
	tests := []struct {
		name, check string
		args        []string
		want        []string
	}{
		{"registry, untrusted CA", "registry", []string{"--url", secure.URL},
			[]string{"signed by a CA this machine does not trust", "/etc/docker/certs.d/" + hostOf(secure.URL) + "/ca.crt", "wharf doctor --ca", "SSL_CERT_FILE"}},
		{"registry, wrong name", "registry", []string{"--url", byName, "--ca", httptestCA},
			[]string{"localhost:" + port + "'s certificate is for example.com, *.example.com, 127.0.0.1, ::1, not localhost", "tls_names"}},
		{"registry, expired", "registry", []string{"--url", expired.URL, "--ca", expiredCA},
			[]string{"expired on " + expiredOn.UTC().Format(time.RFC3339), "renew it"}},
		{"realm, untrusted CA", "realm", []string{"--url", registry(secure.URL)},
			[]string{"signed by a CA this machine does not trust", "/etc/docker/certs.d/" + hostOf(secure.URL) + "/ca.crt"}},
		{"realm, wrong name", "realm", []string{"--url", registry(byName), "--ca", httptestCA},
			[]string{"certificate is for example.com, *.example.com, 127.0.0.1, ::1, not localhost"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, _, code := runDoctor(t, tc.args...)
			if code == 0 {
				t.Fatalf("doctor passed:\n%s", out)
			}
			if !strings.Contains(out, "FAIL  "+tc.check+": ") {
				t.Errorf("no failed %s check:\n%s", tc.check, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("the report lacks %q:\n%s", w, out)
				}
			}
			for _, wrong := range []string{"start the token server", "firewall", "check --url and that the registry runs"} {
				if strings.Contains(out, wrong) {
					t.Errorf("the report blames the network (%q):\n%s", wrong, out)
				}
			}
		})
	}
}
