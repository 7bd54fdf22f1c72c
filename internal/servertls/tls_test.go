package servertls

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"wharf/internal/auth/token"
	"wharf/internal/certs"
	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/testserver"
)

// TestCertReloader replaces the certificate files of a running reloader
// and checks that the next handshake gets the new certificate, and that a
// broken replacement keeps the old one.
func TestCertReloader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, err := certs.NewCA("test CA", []string{"first.test", "second.test"}, token.KeyECDSAP256, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	issue := func(name string) {
		t.Helper()
		c, k, err := ca.IssueServer([]string{name}, token.KeyECDSAP256, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(certPath, c, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyPath, k, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	issue("first.test")
	rl := &certReloader{certPath: certPath, keyPath: keyPath, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := rl.load(); err != nil {
		t.Fatal(err)
	}
	served := func() string {
		t.Helper()
		rl.mu.Lock()
		rl.checked = time.Time{} // as if the check interval had passed
		rl.mu.Unlock()
		c, err := rl.get(nil)
		if err != nil || c.Leaf == nil {
			t.Fatalf("get: %v %v", c, err)
		}
		return c.Leaf.DNSNames[0]
	}
	if got := served(); got != "first.test" {
		t.Fatalf("served %s", got)
	}
	time.Sleep(10 * time.Millisecond) // a distinct modification time
	issue("second.test")
	if got := served(); got != "second.test" {
		t.Fatalf("after replacing the files: served %s, want second.test", got)
	}
	if err := os.WriteFile(keyPath, []byte("broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := served(); got != "second.test" {
		t.Fatalf("after breaking the key: served %s, want the previous certificate", got)
	}
}

// cbcSHA1 are the TLS 1.2 suites with CBC and HMAC-SHA1 that Go's
// defaults accept, for ECDSA and RSA certificates.
var cbcSHA1 = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

// TestTLSCipherSuites serves each TLS mode's configuration on a real
// listener: a TLS 1.2 client offering only CBC-SHA1 suites is refused, a
// TLS 1.2 client with an AEAD suite and a default client get in.
func TestTLSCipherSuites(t *testing.T) {
	t.Parallel()
	filesDir := t.TempDir()
	files, err := certs.Init(certs.InitOptions{Dir: filesDir, Names: []string{"127.0.0.1"}, KeyKind: token.KeyRSA2048})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  config.Config
		ca   func(data string) string
	}{
		{"auto (ECDSA)", config.Config{TLS: "auto"}, func(data string) string { return datadir.New(data).TLSCACert() }},
		{"files (RSA)", config.Config{TLS: "files", TLSFiles: config.TLSFiles{Certificate: files.ServerCert, Key: files.ServerKey}},
			func(string) string { return files.CACert }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.cfg.Data = t.TempDir()
			s := &setup{cfg: tc.cfg, log: slog.New(slog.DiscardHandler)}
			addr := serveTLS(t, s)
			pool := poolOf(t, tc.ca(tc.cfg.Data))
			clients := []struct {
				name string
				tc   *tls.Config
				ok   bool
			}{
				{"TLS 1.2, CBC-SHA1 only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: cbcSHA1}, false},
				{"TLS 1.2, AES-GCM", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
					tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}, true},
				{"default", &tls.Config{}, true},
			}
			for _, c := range clients {
				c.tc.RootCAs = pool
				conn, err := tls.Dial("tcp", addr, c.tc)
				if err == nil {
					conn.Close()
				}
				switch {
				case c.ok && err != nil:
					t.Errorf("%s: %v", c.name, err)
				case !c.ok && (err == nil || !strings.Contains(err.Error(), "handshake failure")):
					t.Errorf("%s: err = %v, want a handshake failure", c.name, err)
				}
			}
		})
	}
	t.Run("acme", func(t *testing.T) {
		t.Parallel()
		// Its certificates come from an ACME server (e2e/acme_test.go);
		// the configuration is the same serverTLS makes for the others.
		s := &setup{cfg: config.Config{TLS: "acme", Data: t.TempDir(), ACME: config.ACME{Domains: []string{"registry.example"}}},
			log: slog.New(slog.DiscardHandler)}
		tc, err := s.tlsConfig(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if tc.MinVersion != tls.VersionTLS12 || !slices.Equal(tc.CipherSuites, aeadSuites) {
			t.Errorf("MinVersion %x, CipherSuites %v; want TLS 1.2 and %v", tc.MinVersion, tc.CipherSuites, aeadSuites)
		}
	})
}

// TestTrustHint: the hint names the CA file and the per-registry
// directories docker and podman read, never the system store.
func TestTrustHint(t *testing.T) {
	t.Parallel()
	h := TrustHint("/srv/wharf/tls/ca.crt", "5000")
	for _, want := range []string{"/etc/docker/certs.d/HOST:5000", "cp /srv/wharf/tls/ca.crt /etc/docker/certs.d/HOST:5000/ca.crt",
		"/etc/containers/certs.d/HOST:5000/ca.crt", "--cacert /srv/wharf/tls/ca.crt"} {
		if !strings.Contains(h, want) {
			t.Errorf("TrustHint lacks %q: %s", want, h)
		}
	}
	if strings.Contains(h, "update-ca-certificates") {
		t.Errorf("TrustHint recommends the system store: %s", h)
	}
}

// TestAutoCertCA follows the local CA across restarts: the first start
// names the CA it made (how to trust it is the server's start lines', on
// every start: TrustHint); a name added to
// tls_names brings a new CA, with a warning naming the new ca.crt, and
// the served certificate verifies against it (and no longer against the
// old one).
func TestAutoCertCA(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	caFile := datadir.New(data).TLSCACert()
	start := func(names ...string) (addr, logs string) {
		t.Helper()
		var buf testserver.SyncBuffer
		s := &setup{cfg: config.Config{TLS: "auto", Data: data, TLSNames: names}, log: slog.New(slog.NewTextHandler(&buf, nil))}
		return serveTLS(t, s), buf.String()
	}
	addr, logs := start()
	for _, want := range []string{"generated a local CA", caFile} {
		if !strings.Contains(logs, want) {
			t.Errorf("first start: log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "update-ca-certificates") || strings.Contains(logs, "WARN") {
		t.Errorf("first start recommends the system store or warns:\n%s", logs)
	}
	oldCA := poolOf(t, caFile)
	if err := dial(t, addr, "localhost", oldCA); err != nil {
		t.Fatalf("first start: %v", err)
	}

	addr, logs = start("registry.internal")
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "clients must trust the new "+caFile) ||
		!strings.Contains(logs, "registry.internal") {
		t.Errorf("tls_names grown: log lacks the new-CA warning:\n%s", logs)
	}
	newCA := poolOf(t, caFile)
	for _, name := range []string{"registry.internal", "localhost"} {
		if err := dial(t, addr, name, newCA); err != nil {
			t.Errorf("%s with the new ca.crt: %v", name, err)
		}
	}
	var unknown x509.UnknownAuthorityError
	if err := dial(t, addr, "localhost", oldCA); !errors.As(err, &unknown) {
		t.Errorf("with the old ca.crt: err = %v, want an unknown authority", err)
	}
	if _, logs = start("registry.internal"); strings.Contains(logs, "CA") {
		t.Errorf("restart with the same names logged about the CA:\n%s", logs)
	}
}

// TestAutoCertUnconstrainedCA: a CA an earlier wharf made (no name
// constraints) keeps serving, with one warning per start that names the
// command replacing it.
func TestAutoCertUnconstrainedCA(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	dir := datadir.New(data).TLS()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	caPEM := writeUnconstrainedCA(t, dir)
	var buf testserver.SyncBuffer
	s := &setup{cfg: config.Config{TLS: "auto", Data: data}, log: slog.New(slog.NewTextHandler(&buf, nil))}
	for _, startup := range []bool{true, false, false} {
		if _, _, err := s.ensureAutoCert("5000", startup); err != nil {
			t.Fatal(err)
		}
	}
	logs := buf.String()
	rm := "rm " + filepath.Join(dir, certs.CACertFile) + " " + filepath.Join(dir, certs.CAKeyFile) + " and restart wharf"
	if n := strings.Count(logs, "has no name constraints"); n != 1 || !strings.Contains(logs, rm) {
		t.Errorf("%d warnings, want 1 naming %q:\n%s", n, rm, logs)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, certs.CACertFile)); !bytes.Equal(got, caPEM) {
		t.Error("the unconstrained CA was replaced")
	}
	if err := dial(t, serveTLS(t, s), "localhost", poolOf(t, filepath.Join(dir, certs.CACertFile))); err != nil {
		t.Errorf("serving from the kept CA: %v", err)
	}
}

// writeUnconstrainedCA writes ca.crt and ca.key as wharf made them before
// name constraints.
func writeUnconstrainedCA(t *testing.T, dir string) []byte {
	t.Helper()
	key, err := token.GenerateKey(token.KeyECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Wharf CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), BasicConstraintsValid: true,
		IsCA: true, MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyPEM, err := token.EncodePrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := token.EncodeCertificatesPEM(cert)
	if err := os.WriteFile(filepath.Join(dir, certs.CACertFile), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, certs.CAKeyFile), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return caPEM
}

// serveTLS serves s's TLS configuration on a loopback port until the test
// ends, completing handshakes only, and returns the address.
func serveTLS(t *testing.T, s *setup) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	tc, err := s.tlsConfig(t.Context(), ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	tln := tls.NewListener(ln, tc)
	go func() {
		for {
			c, err := tln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// dial completes a handshake with addr, verifying its certificate for
// serverName against roots.
func dial(t *testing.T, addr, serverName string, roots *x509.CertPool) error {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: serverName, RootCAs: roots})
	if err != nil {
		return err
	}
	return c.Close()
}

func poolOf(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no certificate", path)
	}
	return pool
}

// TestAutoNames: the local CA is made for the defaults, the listen
// addresses that name a host and tls_names; the host name is optional.
func TestAutoNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  config.Config
		want []string
	}{
		{"defaults", config.Config{Addr: ":5000"}, []string{"127.0.0.1", "::1", "localhost"}},
		{"wildcard addresses", config.Config{Addr: "0.0.0.0:5000", TokenAddr: "[::]:5001"}, []string{"127.0.0.1", "::1", "localhost"}},
		{"listen addresses and tls_names", config.Config{Addr: "10.1.2.3:5000", TokenAddr: "[fd00::5]:5001", TLSNames: []string{"registry.example", "localhost"}},
			[]string{"10.1.2.3", "127.0.0.1", "::1", "fd00::5", "localhost", "registry.example"}},
	}
	for _, tc := range tests {
		names, optional := (&setup{cfg: tc.cfg}).autoNames()
		if !slices.Equal(names, tc.want) {
			t.Errorf("%s: names %v, want %v", tc.name, names, tc.want)
		}
		if h, err := os.Hostname(); err == nil {
			if d, _, err := certs.ParseName(h); err == nil && !slices.Contains(tc.want, d) && !slices.Equal(optional, []string{d}) {
				t.Errorf("%s: optional %v, want the host name %s", tc.name, optional, d)
			}
		}
	}
}
