package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"wharf/e2e/harness"
)

// TestImportRegistry2 moves a real registry:2 installation into wharf:
// distribution (bin/registry) on filesystem storage receives, from crane,
// an image under two tags, an untagged manifest, a referrer, a
// multi-platform index in a nested repository and a bigger image. Stopped,
// its storage root is refused by `wharf serve` (which creates nothing
// there), listed by `wharf import --dry-run`, imported by a `wharf import`
// that is killed (SIGKILL) after its first repository and then run again,
// which finishes with blobs already there. `wharf serve` on the imported
// data answers the catalog, the tag lists and every tag and digest as
// distribution did, the index's platforms, and its referrers API lists the
// referrer.
func TestImportRegistry2(t *testing.T) {
	harness.SkipIfShort(t)
	root := filepath.Join(t.TempDir(), "registry")
	dist := harness.StartDistribution(t, `version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: "`+root+`"
http:
  addr: "{{ADDR}}"
`)
	ctx := testContext(t, 3*time.Minute)
	at := func(s string) name.Reference {
		t.Helper()
		r, err := name.ParseReference(dist.Addr+"/"+s, name.Insecure, name.StrictValidation)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// team/app: one image under two tags, an untagged one, a referrer.
	app := platformImage(t, v1.Platform{OS: "linux", Architecture: "amd64"}, types.OCIManifestSchema1, types.OCIConfigJSON, types.OCILayer)
	for _, tag := range []string{"1.0", "latest"} {
		if err := remote.Write(at("team/app:"+tag), app, remoteOpts(ctx)...); err != nil {
			t.Fatalf("push team/app:%s to distribution: %v", tag, err)
		}
	}
	untagged := platformImage(t, v1.Platform{OS: "linux", Architecture: "arm64"}, types.DockerManifestSchema2, types.DockerConfigJSON, types.DockerLayer)
	untaggedDigest := mustDigest(t, untagged)
	if err := remote.Write(at("team/app@"+untaggedDigest.String()), untagged, remoteOpts(ctx)...); err != nil {
		t.Fatalf("push an untagged manifest to distribution: %v", err)
	}
	appDigest := mustDigest(t, app)
	appSize, err := app.Size()
	if err != nil {
		t.Fatal(err)
	}
	art, ok := mutate.Subject(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), sigType),
		v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: appDigest, Size: appSize}).(v1.Image)
	if !ok {
		t.Fatal("mutate.Subject of an image is not an image")
	}
	artDigest := mustDigest(t, art)
	if err := remote.Write(at("team/app@"+artDigest.String()), art, remoteOpts(ctx)...); err != nil {
		t.Fatalf("push a referrer to distribution: %v", err)
	}

	// a/b/c/multi: an OCI index of two platforms.
	platforms := []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	wantPlatform := map[string]v1.Hash{}
	for _, p := range platforms {
		img := platformImage(t, p, types.OCIManifestSchema1, types.OCIConfigJSON, types.OCILayer)
		wantPlatform[p.String()] = mustDigest(t, img)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	if err := remote.WriteIndex(at("a/b/c/multi:v1"), idx, remoteOpts(ctx)...); err != nil {
		t.Fatalf("push a/b/c/multi:v1 to distribution: %v", err)
	}

	// z/bulk: enough bytes that an import paced by --max-rate is still
	// copying them when it is killed.
	bulk := empty.Image
	for range 6 {
		l, err := random.Layer(64<<10, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		if bulk, err = mutate.AppendLayers(bulk, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := remote.Write(at("z/bulk:big"), bulk, remoteOpts(ctx)...); err != nil {
		t.Fatalf("push z/bulk:big to distribution: %v", err)
	}

	// What distribution serves: the reference for wharf. It has no
	// referrers API, so crane also tagged an index of the referrers
	// (sha256-<hex>, the referrers tag schema): a fifth tag, imported too.
	distURL := "http://" + dist.Addr
	catalog := listJSON(t, distURL+"/v2/_catalog", "repositories")
	if want := []string{"a/b/c/multi", "team/app", "z/bulk"}; !slices.Equal(catalog, want) {
		t.Fatalf("distribution's catalog %v; want %v", catalog, want)
	}
	tags := map[string][]string{}
	digests := map[string]v1.Hash{} // repo:tag → digest
	for _, repo := range catalog {
		tags[repo] = listJSON(t, distURL+"/v2/"+repo+"/tags/list", "tags")
		for _, tag := range tags[repo] {
			desc, err := remote.Head(at(repo+":"+tag), remoteOpts(ctx)...)
			if err != nil {
				t.Fatalf("HEAD %s:%s on distribution: %v", repo, tag, err)
			}
			digests[repo+":"+tag] = desc.Digest
		}
	}
	dist.Stop()

	bin := harness.WharfBinary(t)
	env := wharfCLI{t: t}.env()
	before := treeListing(t, root)

	// wharf serve on the registry:2 root: refused, nothing created.
	// A bounded wait: a serve that does not refuse would serve on.
	serveCtx, cancelServe := context.WithTimeout(ctx, 30*time.Second)
	defer cancelServe()
	out, err := runWharfEnv(serveCtx, env, bin, "serve", "--data", root, "--addr", "127.0.0.1:0", "--auth", "none", "--tls", "off")
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("wharf serve --data %s: %v; want a refusal\n%s", root, err, out)
	}
	for _, want := range []string{"registry:2 storage tree", "wharf import " + root + " --data NEWDIR"} {
		if !strings.Contains(out, want) {
			t.Errorf("the refusal of serve lacks %q:\n%s", want, out)
		}
	}
	if after := treeListing(t, root); after != before {
		t.Errorf("wharf serve wrote into the registry:2 tree:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// --dry-run lists what would be imported and writes nothing.
	data := filepath.Join(t.TempDir(), "wharf-data")
	out, err = runWharfEnv(ctx, env, bin, "import", root, "--data", data, "--dry-run")
	if err != nil {
		t.Fatalf("wharf import --dry-run: %v\n%s", err, out)
	}
	for _, want := range []string{"a/b/c/multi: 1 tag, 3 manifests", "team/app: 3 tags, 4 manifests", "refers to " + appDigest.String(),
		"untagged", "would import 3 repositories, 5 tags, 8 manifests"} {
		if !strings.Contains(out, want) {
			t.Errorf("--dry-run lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("--dry-run created %s: %v", data, err)
	}

	// An import killed after its first repository...
	killed := exec.CommandContext(ctx, bin, "import", root, "--data", data, "--max-rate", "200KiB")
	killed.Env = env
	stderr, err := killed.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		seen = append(seen, lines.Text())
		if strings.HasPrefix(lines.Text(), "import: repository ") {
			_ = killed.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	_, _ = io.Copy(io.Discard, stderr)
	err = killed.Wait()
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the first import was not killed in the middle (%v); its output:\n%s", err, strings.Join(seen, "\n"))
	}
	if !strings.Contains(strings.Join(seen, "\n"), "import: repository a/b/c/multi done") {
		t.Fatalf("the first import did not report its first repository:\n%s", strings.Join(seen, "\n"))
	}

	// ...run again, finishes the job without redoing what was done.
	out, err = runWharfEnv(ctx, env, bin, "import", root, "--data", data)
	if err != nil {
		t.Fatalf("wharf import after a kill: %v\n%s", err, out)
	}
	copied, there := summaryCount(t, out, "blobs", "copied"), summaryCount(t, out, "blobs", "already there")
	if there == 0 || copied == 0 || summaryCount(t, out, "manifests", "already there") == 0 {
		t.Errorf("the resumed import should find the first repository already there and copy the rest:\n%s", out)
	}
	t.Logf("resumed import: %d blobs copied, %d already there", copied, there)
	for _, want := range []string{"repositories  3", "tags          5", "problems      0"} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary lacks %q:\n%s", want, out)
		}
	}
	if after := treeListing(t, root); after != before {
		t.Errorf("wharf import wrote into the registry:2 tree")
	}

	// wharf serve on the imported data answers as distribution did.
	w := harness.StartWharfCommand(t, nil, "serve", "--data", data, "--addr", "127.0.0.1:0", "--auth", "none", "--tls", "off")
	t.Cleanup(func() {
		httpClient.CloseIdleConnections()
		plainHTTP.(interface{ CloseIdleConnections() }).CloseIdleConnections()
	})
	if got := listJSON(t, w.URL()+"/v2/_catalog", "repositories"); !slices.Equal(got, catalog) {
		t.Errorf("catalog after import %v; distribution's %v", got, catalog)
	}
	for _, repo := range catalog {
		if got := listJSON(t, w.URL()+"/v2/"+repo+"/tags/list", "tags"); !slices.Equal(got, tags[repo]) {
			t.Errorf("tags of %s after import %v; distribution's %v", repo, got, tags[repo])
		}
		for _, tag := range tags[repo] {
			want := digests[repo+":"+tag]
			for _, r := range []string{repo + ":" + tag, repo + "@" + want.String()} {
				desc, err := remote.Get(ref(t, w, r), remoteOpts(ctx)...)
				if err != nil || desc.Digest != want {
					t.Errorf("pull %s from wharf: %v, %v; want %s", r, desc, err, want)
					continue
				}
				if desc.MediaType.IsIndex() {
					continue
				}
				img, err := desc.Image()
				if err == nil {
					err = validate.Image(img)
				}
				if err != nil {
					t.Errorf("%s from wharf: %v", r, err)
				}
			}
		}
	}
	for _, p := range platforms {
		img, err := remote.Image(ref(t, w, "a/b/c/multi:v1"), remoteOpts(ctx, remote.WithPlatform(p))...)
		if err != nil || mustDigest(t, img) != wantPlatform[p.String()] {
			t.Errorf("a/b/c/multi:v1 for %s from wharf: %v; want %s", p, err, wantPlatform[p.String()])
		} else if err := validate.Image(img); err != nil {
			t.Errorf("a/b/c/multi:v1 for %s: %v", p, err)
		}
	}
	for _, d := range []v1.Hash{untaggedDigest, artDigest} {
		if desc, err := remote.Get(ref(t, w, "team/app@"+d.String()), remoteOpts(ctx)...); err != nil || desc.Digest != d {
			t.Errorf("untagged team/app@%s from wharf: %v", d, err)
		}
	}
	// The referrers API itself, not the fallback tag crane may have pushed.
	refs, err := remote.Referrers(ref(t, w, "team/app@"+appDigest.String()).(name.Digest), remoteOpts(ctx, remote.WithReferrersTagFallback(false))...)
	if err != nil {
		t.Fatalf("referrers of team/app@%s on wharf: %v", appDigest, err)
	}
	im, err := refs.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != artDigest || im.Manifests[0].ArtifactType != sigType {
		t.Errorf("referrers of team/app@%s on wharf: %+v; want %s of type %s", appDigest, im.Manifests, artDigest, sigType)
	}
}

// runWharfEnv runs a wharf command to its end and returns what it wrote.
func runWharfEnv(ctx context.Context, env []string, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// listJSON gets a catalog or tag list and returns its list named key.
func listJSON(t *testing.T, url, key string) []string {
	t.Helper()
	r := do(t, http.MethodGet, url, nil)
	var body map[string]json.RawMessage
	var list []string
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &body) != nil || json.Unmarshal(body[key], &list) != nil {
		t.Fatalf("GET %s: %v", url, r)
	}
	slices.Sort(list)
	return list
}

// summaryCount reads "N what" from the summary line of an import that
// starts with row ("blobs         3 copied, 0 linked, 5 already there").
func summaryCount(t *testing.T, out, row, what string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + row + ` .*?(\d+) ` + what).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q count in the %s row of the summary:\n%s", what, row, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// treeListing lists every path below root with its size, to show that
// nothing was written there.
func treeListing(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.Mode().String() + " " + strconv.FormatInt(fi.Size(), 10) + "\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestImportDockerPushed: an image `docker push`ed to registry:2 is pulled
// by the same daemon from `wharf serve` after `wharf import`, by tag and
// by digest, with the digest and image ID docker pushed.
func TestImportDockerPushed(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	d := harness.StartDockerd(t)
	root := filepath.Join(t.TempDir(), "registry")
	dist := harness.StartDistribution(t, `version: 0.1
storage:
  filesystem:
    rootdirectory: "`+root+`"
http:
  addr: "{{ADDR}}"
`)
	img := dist.Addr + "/e2e/busybox:1"
	d.Run("import", "--change", `CMD ["/bin/sh"]`, rootfs, img)
	id := strings.TrimSpace(d.Run("image", "inspect", "--format", "{{.Id}}", img))
	m := pushedDigest.FindStringSubmatch(d.Run("push", img))
	if m == nil {
		t.Fatal("docker push to distribution printed no digest")
	}
	digest := m[1]
	dist.Stop()

	data := filepath.Join(t.TempDir(), "wharf-data")
	ctx := testContext(t, 2*time.Minute)
	if out, err := runWharfEnv(ctx, wharfCLI{t: t}.env(), harness.WharfBinary(t), "import", root, "--data", data); err != nil {
		t.Fatalf("wharf import: %v\n%s", err, out)
	}
	w := harness.StartWharfCommand(t, nil, "serve", "--data", data, "--addr", "127.0.0.1:0", "--auth", "none", "--tls", "off")
	repo := w.Addr() + "/e2e/busybox"
	d.Run("rmi", img)
	if out := d.Run("pull", repo+":1"); !strings.Contains(out, digest) {
		t.Errorf("docker pull from wharf reported a digest other than the pushed %s:\n%s", digest, out)
	}
	if got := strings.TrimSpace(d.Run("image", "inspect", "--format", "{{.Id}}", repo+":1")); got != id {
		t.Errorf("image ID pulled from wharf %s; pushed %s", got, id)
	}
	d.Run("rmi", repo+":1")
	d.Run("pull", repo+"@"+digest)
}
