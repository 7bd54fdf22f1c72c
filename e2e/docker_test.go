package e2e

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"wharf/e2e/harness"
)

// busyboxRootfs writes a minimal root filesystem tarball: Debian's static
// busybox and a few applet symlinks. Nothing is ever pulled from a network.
func busyboxRootfs(t *testing.T) string {
	t.Helper()
	bin := harness.RequireTool(t, "busybox", "/bin/busybox", "/usr/bin/busybox")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rootfs.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	mtime := time.Unix(1700000000, 0)
	entries := []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))},
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
	}
	for _, applet := range []string{"sh", "echo", "ls", "cat", "true"} {
		entries = append(entries, &tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	}
	for _, h := range entries {
		h.ModTime, h.Format = mtime, tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Name == "bin/busybox" {
			if _, err := tw.Write(data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

var pushedDigest = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64}) size: \d+`)

// TestDocker pushes an imported busybox image with the real docker CLI and
// daemon, removes it locally, pulls it back, and checks what docker and the
// HTTP API report.
func TestDocker(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	d := harness.StartDockerd(t)
	w := startWharf(t)
	repo := w.Addr() + "/e2e/busybox"
	img := repo + ":1"

	d.Run("import", "--change", `CMD ["/bin/sh"]`, rootfs, img)
	id := strings.TrimSpace(d.Run("image", "inspect", "--format", "{{.Id}}", img))

	out := d.Run("push", img)
	m := pushedDigest.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("docker push printed no digest:\n%s", out)
	}
	digest := m[1]
	t.Logf("docker pushed %s as %s", img, digest)

	head := do(t, http.MethodHead, w.URL()+"/v2/e2e/busybox/manifests/1", nil,
		"Accept", string(types.DockerManifestSchema2)+", "+string(types.OCIManifestSchema1))
	if head.Status != http.StatusOK || head.Header.Get("Docker-Content-Digest") != digest {
		t.Errorf("HEAD manifest: want 200 with Docker-Content-Digest %s: %v", digest, head)
	}

	d.Run("rmi", img)
	if out, err := d.TryRun(nil, "image", "inspect", img); err == nil {
		t.Fatalf("image still present after docker rmi:\n%s", out)
	}
	out = d.Run("pull", img)
	if !strings.Contains(out, digest) {
		t.Errorf("docker pull reported a different digest, want %s:\n%s", digest, out)
	}
	var repoDigests []string
	if err := json.Unmarshal([]byte(d.Run("image", "inspect", "--format", "{{json .RepoDigests}}", img)), &repoDigests); err != nil {
		t.Fatal(err)
	}
	if want := repo + "@" + digest; !slices.Contains(repoDigests, want) {
		t.Errorf("RepoDigests after pull = %v, want to contain %s", repoDigests, want)
	}
	if got := strings.TrimSpace(d.Run("image", "inspect", "--format", "{{.Id}}", img)); got != id {
		t.Errorf("image ID after pull = %s, pushed %s", got, id)
	}
	d.Run("pull", repo+"@"+digest)

	// A second tag, and a second repository sharing the layer.
	d.Run("tag", img, repo+":2")
	d.Run("push", repo+":2")
	other := w.Addr() + "/e2e/other:latest"
	d.Run("tag", img, other)
	if out := d.Run("push", other); !strings.Contains(out, "Mounted from e2e/busybox") {
		t.Logf("note: docker uploaded the layer to e2e/other instead of mounting it:\n%s", out)
	}

	if diff := cmp.Diff([]string{"e2e/busybox", "e2e/other"}, sorted(catalog(t, w))); diff != "" {
		t.Errorf("/v2/_catalog (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1", "2"}, sorted(tags(t, w, "e2e/busybox"))); diff != "" {
		t.Errorf("e2e/busybox tags/list (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"latest"}, tags(t, w, "e2e/other")); diff != "" {
		t.Errorf("e2e/other tags/list (-want +got):\n%s", diff)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestSkopeo copies an OCI layout and a docker-archive into wharf with
// skopeo, inspects them, and copies one back out.
func TestSkopeo(t *testing.T) {
	harness.SkipIfShort(t)
	skopeoBin := harness.RequireTool(t, "skopeo")
	w := startWharf(t)
	ctx := testContext(t, 5*time.Minute)
	tmp := t.TempDir()
	skopeo := func(args ...string) string {
		t.Helper()
		// No policy.json or registries.conf from the host is needed or used.
		cmd := exec.CommandContext(ctx, skopeoBin, append([]string{"--insecure-policy", "--tmpdir", tmp}, args...)...)
		cmd.Env = append(os.Environ(), "REGISTRY_AUTH_FILE="+filepath.Join(tmp, "auth.json"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if err := os.WriteFile(filepath.Join(tmp, "auth.json"), []byte(`{"auths":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}

	img, err := random.Image(128<<10, 2)
	if err != nil {
		t.Fatal(err)
	}
	ociImg := platformImage(t, v1.Platform{OS: "linux", Architecture: "amd64"},
		types.OCIManifestSchema1, types.OCIConfigJSON, types.OCILayer)
	ociDir := filepath.Join(tmp, "oci")
	lp, err := layout.Write(ociDir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(ociImg, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "v1"})); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(tmp, "archive.tar")
	if err := tarball.WriteToFile(archive, name.MustParseReference("example.invalid/e2e/archive:v1"), img); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, src, dst string
		extra          []string
		wantDigest     string // "" when skopeo may rewrite the manifest
	}{
		{"oci layout", "oci:" + ociDir + ":v1", "e2e/skopeo:oci", []string{"--preserve-digests"}, mustDigest(t, ociImg).String()},
		{"docker archive", "docker-archive:" + archive, "e2e/skopeo:archive", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := "docker://" + w.Addr() + "/" + tc.dst
			digestFile := filepath.Join(tmp, strings.ReplaceAll(tc.name, " ", "-")+".digest")
			args := append([]string{"copy", "--dest-tls-verify=false", "--digestfile", digestFile}, tc.extra...)
			skopeo(append(args, tc.src, dst)...)
			b, err := os.ReadFile(digestFile)
			if err != nil {
				t.Fatal(err)
			}
			pushed := strings.TrimSpace(string(b))
			if tc.wantDigest != "" && pushed != tc.wantDigest {
				t.Errorf("skopeo pushed %s, want the source digest %s", pushed, tc.wantDigest)
			}

			var info struct {
				Digest string
				Layers []string
			}
			if err := json.Unmarshal([]byte(skopeo("inspect", "--tls-verify=false", dst)), &info); err != nil {
				t.Fatal(err)
			}
			if info.Digest != pushed || len(info.Layers) != 2 {
				t.Errorf("skopeo inspect: digest %s with %d layers, want %s with 2", info.Digest, len(info.Layers), pushed)
			}
			raw := skopeo("inspect", "--raw", "--tls-verify=false", dst)
			if sum := sha256.Sum256([]byte(raw)); "sha256:"+hex.EncodeToString(sum[:]) != pushed {
				t.Errorf("skopeo inspect --raw: bytes hash to sha256:%x, want %s", sum, pushed)
			}

			back := filepath.Join(tmp, "back-"+strings.ReplaceAll(tc.name, " ", "-"))
			skopeo("copy", "--src-tls-verify=false", dst, "oci:"+back+":x")
			pulled, err := remote.Image(ref(t, w, tc.dst), remoteOpts(ctx)...)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(pulled); err != nil {
				t.Errorf("validate.Image(%s): %v", tc.dst, err)
			}
		})
	}
}
