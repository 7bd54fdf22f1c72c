package server

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"wharf/internal/auth/token"
	"wharf/internal/certs"
)

// TestCertReloader replaces the certificate files of a running reloader
// and checks that the next handshake gets the new certificate, and that a
// broken replacement keeps the old one.
func TestCertReloader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, err := certs.NewCA("test CA", token.KeyECDSAP256, time.Hour)
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
