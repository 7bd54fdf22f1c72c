package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"wharf/e2e/harness"
)

// startHTTPSWharf starts `wharf serve` on its defaults: token auth and
// tls: auto, with the classic users.
func startHTTPSWharf(t *testing.T) *harness.Wharf {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(cfg, []byte("users:\n  admin:\n    password: \""+bcryptHash(t, adminPassword)+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return harness.StartWharf(t, "--config", cfg, "--auth", "token", "--tls", "auto")
}

func caPool(t *testing.T, path string) *x509.CertPool {
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

// TestStrictTLS checks HTTPS by default from real clients: each trusts the
// CA wharf generated for one server, succeeds against that server, and
// refuses a second server whose certificate comes from another CA.
func TestStrictTLS(t *testing.T) {
	harness.SkipIfShort(t)
	skopeoBin := harness.RequireTool(t, "skopeo")
	good, other := startHTTPSWharf(t), startHTTPSWharf(t)
	caFile := filepath.Join(good.DataDir(), "tls", "ca.crt")
	img, err := random.Image(32<<10, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, caFile), MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)

	t.Run("crane", func(t *testing.T) {
		auth := remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword})
		if err := remote.Write(ref(t, good, "e2e/tls:1"), img, auth, remote.WithTransport(tr)); err != nil {
			t.Fatalf("push over HTTPS with the CA: %v", err)
		}
		err := remote.Write(ref(t, other, "e2e/tls:1"), img, auth, remote.WithTransport(tr))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("push to a server with another CA: %v, want a certificate error", err)
		}
	})
	t.Run("skopeo", func(t *testing.T) {
		certDir := t.TempDir()
		b, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(certDir, "ca.crt"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		archive := filepath.Join(t.TempDir(), "img.tar")
		if err := tarball.WriteToFile(archive, name.MustParseReference("example.invalid/e2e/tls:1"), img); err != nil {
			t.Fatal(err)
		}
		run := func(w *harness.Wharf) (string, error) {
			cmd := exec.CommandContext(t.Context(), skopeoBin, "--insecure-policy", "copy",
				"--dest-cert-dir", certDir, "--dest-creds", "admin:"+adminPassword,
				"docker-archive:"+archive, "docker://"+w.Addr()+"/e2e/skopeo-tls:1")
			cmd.Env = append(os.Environ(), "REGISTRY_AUTH_FILE="+filepath.Join(t.TempDir(), "auth.json"))
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		if out, err := run(good); err != nil {
			t.Fatalf("skopeo copy over HTTPS with --dest-cert-dir: %v\n%s", err, out)
		}
		if out, err := run(other); err == nil || !strings.Contains(out, "certificate") {
			t.Fatalf("skopeo copy to a server with another CA: %v, want a certificate error\n%s", err, out)
		}
	})
	t.Run("docker", func(t *testing.T) {
		// dockerd treats every registry on 127.0.0.0/8 as insecure and skips
		// certificate checks for it, so only the trusted path can be shown
		// here: login, push and pull over HTTPS with the CA in certs.d.
		d := harness.StartDockerd(t)
		certsD := filepath.Join("/etc/docker/certs.d", good.Addr())
		if err := os.MkdirAll(certsD, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(certsD) })
		b, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(certsD, "ca.crt"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		rootfs := busyboxRootfs(t)
		ref := good.Addr() + "/e2e/docker-tls:1"
		d.Run("import", rootfs, ref)
		d.Run("login", "-u", "admin", "--password", adminPassword, good.Addr())
		d.Run("push", ref)
		d.Run("rmi", ref)
		d.Run("pull", ref)
		// The push really went over HTTPS: the server saw TLS connections.
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(good.Log(), `method=PUT path=/v2/e2e/docker-tls/manifests/1 status=201`) {
			if time.Now().After(deadline) {
				t.Fatalf("wharf logged no manifest push:\n%s", good.Log())
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
