package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"wharf/e2e/harness"
	"wharf/internal/datadir"
)

// startHTTPSWharf starts `wharf serve` on its defaults: token auth and
// tls: auto, with the classic users.
func startHTTPSWharf(t *testing.T) *harness.Wharf {
	t.Helper()
	cfg := writeConfig(t, t.TempDir(), "users:\n  admin:\n    password: \""+bcryptHash(t, adminPassword)+"\"\n")
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
	caFile := datadir.New(good.DataDir()).TLSCACert()
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
	t.Run("curl (OpenSSL)", func(t *testing.T) {
		// OpenSSL checks the CA's name constraints too: the address and
		// localhost are within them.
		curl := harness.RequireTool(t, "curl")
		_, p, _ := net.SplitHostPort(good.Addr())
		for _, u := range []string{"https://" + good.Addr() + "/v2/", "https://localhost:" + p + "/v2/"} {
			out, err := exec.CommandContext(t.Context(), curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", caFile, u).CombinedOutput()
			if err != nil || string(out) != "401" {
				t.Errorf("curl %s: %v, %s; want 401 over verified HTTPS", u, err, out)
			}
		}
		out, err := exec.CommandContext(t.Context(), curl, "-sS", "-o", "/dev/null", "--cacert", caFile, "https://"+other.Addr()+"/v2/").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "certificate") {
			t.Errorf("curl to a server with another CA: %v, want a certificate error\n%s", err, out)
		}
	})
	t.Run("docker", func(t *testing.T) {
		// dockerd treats every registry on 127.0.0.0/8 as insecure and skips
		// certificate checks for it, so the servers listen on ::1 under a
		// name only this test gives them (in /etc/hosts): for such a name
		// docker verifies certificates against certs.d.
		host := fmt.Sprintf("wharf-tls-%d.test", os.Getpid())
		addHostsEntry(t, "::1", host)
		good, other := startHTTPSWharfV6(t, host), startHTTPSWharfV6(t, host)
		caFile := datadir.New(good.DataDir()).TLSCACert()
		goodRef := host + ":" + port(t, good) + "/e2e/docker-tls:1"
		for _, w := range []*harness.Wharf{good, other} {
			// Both addresses trust good's CA; only good has a matching certificate.
			installCA(t, host+":"+port(t, w), caFile)
		}
		d := harness.StartDockerd(t)
		rootfs := busyboxRootfs(t)
		d.Run("import", rootfs, goodRef)
		d.Run("login", "-u", "admin", "--password", adminPassword, host+":"+port(t, good))
		d.Run("push", goodRef)
		d.Run("rmi", goodRef)
		d.Run("pull", goodRef)
		out, err := d.TryRun(strings.NewReader(adminPassword), "login", "-u", "admin", "--password-stdin", host+":"+port(t, other))
		if err == nil || !strings.Contains(out, "certificate") {
			t.Fatalf("docker login to a server whose certificate comes from another CA: %v, want a certificate error\n%s", err, out)
		}
	})
}

// startHTTPSWharfV6 is startHTTPSWharf on [::1], with host in its
// certificate.
func startHTTPSWharfV6(t *testing.T, host string) *harness.Wharf {
	t.Helper()
	body := "tls_names: [" + host + "]\nusers:\n  admin:\n    password: \"" + bcryptHash(t, adminPassword) + "\"\n"
	cfg := writeConfig(t, t.TempDir(), body)
	return harness.StartWharf(t, "--config", cfg, "--auth", "token", "--tls", "auto", "--addr", "[::1]:0")
}

func port(t *testing.T, w *harness.Wharf) string {
	t.Helper()
	_, p, err := net.SplitHostPort(w.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// installCA is installDockerCA for a CA file.
func installCA(t *testing.T, addr, caFile string) {
	t.Helper()
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	installDockerCA(t, addr, b)
}

// addHostsEntry adds "ip name" to /etc/hosts for the test and restores the
// file afterwards.
func addHostsEntry(t *testing.T, ip, name string) {
	t.Helper()
	orig, err := os.ReadFile("/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	entry := ip + " " + name + "\n"
	if len(orig) > 0 && orig[len(orig)-1] != '\n' {
		entry = "\n" + entry
	}
	if err := os.WriteFile("/etc/hosts", append(append([]byte{}, orig...), entry...), 0o644); err != nil {
		t.Fatalf("adding %s to /etc/hosts (the test needs root): %v", name, err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile("/etc/hosts", orig, 0o644); err != nil {
			t.Errorf("restoring /etc/hosts: %v", err)
		}
	})
}
