package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"wharf/e2e/harness"
	"wharf/internal/auth/token"
	"wharf/internal/certs"
	"wharf/internal/datadir"
)

// startPebble runs Let's Encrypt's test ACME server (bin/pebble, pinned in
// scripts/deps.sh) on loopback with a certificate from a throwaway CA, and
// returns its directory URL, its management address and that CA's file.
// Challenges are declared valid (PEBBLE_VA_ALWAYS_VALID): no name here
// resolves to this host for real validation.
func startPebble(t *testing.T) (directory, mgmt, caFile string) {
	t.Helper()
	bin := filepath.Join(harness.RepoRoot(t), "bin", "pebble")
	harness.RequireFile(t, bin, "pebble (bin/pebble)")
	dir := t.TempDir()
	names := []string{"localhost", "127.0.0.1"}
	ca, err := certs.NewCA("pebble listener CA", names, token.KeyECDSAP256, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	crt, key, err := ca.IssueServer(names, token.KeyECDSAP256, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, "ca.crt")
	for name, b := range map[string][]byte{"ca.crt": ca.CertPEM(), "cert.pem": crt, "key.pem": key} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	listen, mgmt := harness.FreeLoopbackAddr(t), harness.FreeLoopbackAddr(t)
	cfg := fmt.Sprintf(`{"pebble": {"listenAddress": %q, "managementListenAddress": %q,
  "certificate": %q, "privateKey": %q, "httpPort": 5002, "tlsPort": 5001,
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}`,
		listen, mgmt, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	cfgPath := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "pebble.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfgPath)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pebble: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("pebble log:\n%s", b)
		}
	})
	directory = "https://" + listen + "/dir"
	client := clientTrusting(t, caFile, "")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := client.Get(directory)
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not answer on %s: %v", directory, err)
		}
	}
	return directory, mgmt, caFile
}

// clientTrusting is an HTTPS client trusting the PEM file caFile; with
// dialTo set, every connection goes to that address (a DNS stand-in).
func clientTrusting(t *testing.T, caFile, dialTo string) *http.Client {
	t.Helper()
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	if dialTo != "" {
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, dialTo)
		}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: 60 * time.Second, Transport: tr}
}

// TestACME runs `wharf serve --tls acme` against a real ACME server
// (pebble): the first handshake for a configured name obtains a certificate
// chained to pebble's root, and names outside acme.domains are refused.
func TestACME(t *testing.T) {
	harness.SkipIfShort(t)
	directory, mgmt, pebbleCA := startPebble(t)
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf("acme:\n  directory: %q\n  email: ops@wharf.test\n  domains: [registry.wharf.test]\n  ca_root: %q\n",
		directory, pebbleCA))
	w := harness.StartWharf(t, "--config", cfg, "--tls", "acme")

	// The root pebble issues from, from its management interface.
	res, err := clientTrusting(t, pebbleCA, "").Get("https://" + mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := io.ReadAll(res.Body)
	res.Body.Close()
	rootFile := filepath.Join(t.TempDir(), "pebble-root.pem")
	if err := os.WriteFile(rootFile, root, 0o600); err != nil {
		t.Fatal(err)
	}
	client := clientTrusting(t, rootFile, w.Addr())
	_, port, _ := net.SplitHostPort(w.Addr())
	res, err = client.Get("https://registry.wharf.test:" + port + "/v2/")
	if err != nil {
		t.Fatalf("GET /v2/ with the ACME certificate: %v\n%s", err, w.Log())
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.TLS == nil || len(res.TLS.PeerCertificates) == 0 {
		t.Fatalf("GET /v2/: %d", res.StatusCode)
	}
	leaf := res.TLS.PeerCertificates[0]
	if leaf.VerifyHostname("registry.wharf.test") != nil || !strings.Contains(leaf.Issuer.String(), "Pebble") {
		t.Errorf("served certificate: subject %v, names %v, issuer %v", leaf.Subject, leaf.DNSNames, leaf.Issuer)
	}
	if _, err := client.Get("https://other.wharf.test:" + port + "/v2/"); err == nil {
		t.Error("a name outside acme.domains got a certificate")
	}
	// With the certificate in hand, TLS 1.2 takes AEAD suites only.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(root)
	for _, c := range []struct {
		suite uint16
		ok    bool
	}{{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, false}, {tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true}} {
		conn, err := tls.Dial("tcp", w.Addr(), &tls.Config{ServerName: "registry.wharf.test", RootCAs: pool,
			MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{c.suite}})
		if err == nil {
			conn.Close()
		}
		if c.ok != (err == nil) {
			t.Errorf("TLS 1.2 with %s only: err = %v, want ok=%v", tls.CipherSuiteName(c.suite), err, c.ok)
		}
	}
	if _, err := os.Stat(datadir.New(w.DataDir()).ACME()); err != nil {
		t.Errorf("no ACME cache in the data directory: %v", err)
	}
}
