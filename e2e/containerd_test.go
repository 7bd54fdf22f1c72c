package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"wharf/e2e/harness"
)

// TestProxyContainerdMirror pulls with the real containerd (ctr) through a
// Wharf named as docker.io's mirror in a hosts.toml, and through a prefix
// (HOST/hub/…), the upstream being another Wharf with token auth behind a
// counting front: the first pull fetches, a pull after containerd forgot
// the image comes from the cache, and with the upstream stopped the cached
// image still pulls.
func TestProxyContainerdMirror(t *testing.T) {
	harness.SkipIfShort(t)
	up, counter, mirror, want := startBusyboxMirror(t)
	c := harness.StartContainerd(t)

	// containerd's registry host configuration: docker.io's requests go to
	// the mirror first (over plain HTTP on loopback).
	hostsDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(hostsDir, "docker.io"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(hostsDir, "docker.io"), "hosts.toml", fmt.Sprintf(`server = "https://registry-1.docker.io"

[host."http://%s"]
  capabilities = ["pull", "resolve"]
`, mirror.Addr()), 0o644)

	const hubRef = "docker.io/library/busybox:latest"
	prefixed := mirror.Addr() + "/hub/library/busybox:latest"
	// pullAndForget pulls ref, checks the digest containerd recorded, then
	// removes the image and, once containerd's garbage collection ran
	// (--sync), its content: every pull downloads the whole image from the
	// mirror, none is served from containerd's own store.
	pullAndForget := func(ref string, extra ...string) {
		t.Helper()
		args := append([]string{"images", "pull", "--snapshotter", "native", "--hosts-dir", hostsDir}, extra...)
		out := c.Ctr(append(args, ref)...)
		if got := imageDigest(t, c, ref); got != want.String() {
			t.Errorf("ctr pulled %s as %s; the upstream has %s:\n%s", ref, got, want, out)
		}
		c.Ctr("images", "rm", "--sync", ref)
		if out := c.Ctr("content", "ls", "-q"); strings.TrimSpace(out) != "" {
			t.Fatalf("containerd kept content after %s was removed:\n%s", ref, out)
		}
	}
	pullBoth := func() {
		t.Helper()
		pullAndForget(hubRef)
		pullAndForget(prefixed, "--plain-http")
	}

	// First pulls: the mirror fetches the manifest of each repository
	// (library/busybox and hub/library/busybox are cached apart) and the
	// config and layer once, the second repository linking the blobs the
	// first fetched.
	pullBoth()
	for _, path := range []string{
		"path=/v2/library/busybox/manifests/latest", "path=/v2/library/busybox/blobs/",
		"path=/v2/hub/library/busybox/manifests/latest", "path=/v2/hub/library/busybox/blobs/",
	} {
		if !strings.Contains(mirror.Log(), path) {
			t.Fatalf("containerd did not ask the mirror for %s:\n%s", path, mirror.Log())
		}
	}
	if counter.count("GET manifests") != 2 || counter.count("GET blobs") != 2 {
		t.Fatalf("the first pulls asked the upstream %v; want 2 manifest GETs (one per repository) and 2 blob GETs (config and layer)", counter.counts)
	}

	// Pulled again (past the TTL): served by Wharf's cache, the upstream
	// asked at most a HEAD of each tag.
	time.Sleep(1500 * time.Millisecond)
	pullBoth()
	if counter.count("GET manifests") != 2 || counter.count("GET blobs") != 2 {
		t.Errorf("pulls of the cached image fetched from the upstream again: %v", counter.counts)
	}

	// The upstream stops, past the TTL: the cached image is served stale.
	up.Stop()
	counter.srv.Close()
	time.Sleep(1500 * time.Millisecond)
	pullBoth()
	for _, repo := range []string{"repo=library/busybox", "repo=hub/library/busybox"} {
		if !regexp.MustCompile(`serving the cached manifest.* ` + regexp.QuoteMeta(repo) + ` `).MatchString(mirror.Log()) {
			t.Errorf("the mirror did not log that it served the cached manifest of %s with the upstream stopped", repo)
		}
	}
	t.Logf("upstream requests: %v", counter.counts)
}

// imageDigest is the target digest containerd recorded for ref.
func imageDigest(t *testing.T, c *harness.Containerd, ref string) string {
	t.Helper()
	out := c.Ctr("images", "ls", "name=="+ref)
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == ref {
			return f[2]
		}
	}
	t.Fatalf("ctr images ls has no %s:\n%s", ref, out)
	return ""
}
