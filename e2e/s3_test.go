package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/opencontainers/go-digest"

	"wharf/e2e/harness"
	"wharf/internal/testserver"
)

const s3Bucket = "registry"

// s3Config is a wharf.yml storing blobs in the versitygw bucket at
// endpoint, under a key prefix, with extra lines appended to storage:.
func s3Config(t *testing.T, g *testserver.VersityGW, endpoint, extra string) string {
	t.Helper()
	return writeConfig(t, t.TempDir(), fmt.Sprintf(`storage:
  s3:
    bucket: %s
    region: %s
    regionendpoint: %s
    forcepathstyle: true
    accesskey: %s
    secretkey: %s
    rootdirectory: /wharf
    maxattempts: 2
%s`, s3Bucket, g.Region, endpoint, g.AccessKey, g.SecretKey, extra))
}

// s3Objects counts the blobs the bucket holds under the test's prefix, and
// checks that the data directory holds none: the bytes went to S3.
func s3Objects(t *testing.T, g *testserver.VersityGW, w *harness.Wharf) int {
	t.Helper()
	n := 0
	root := filepath.Join(g.Dir, s3Bucket, "wharf", "blobs")
	err := filepath.WalkDir(root, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatalf("walk the bucket: %v", err)
	}
	local := 0
	filepath.WalkDir(filepath.Join(w.DataDir(), "blobs"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			local++
		}
		return nil
	})
	if local != 0 {
		t.Errorf("%d blob files in the data directory with storage.s3 set", local)
	}
	return n
}

// TestConformanceS3 runs the OCI conformance suite against wharf storing
// its blobs in a real S3 server, pulls answered by presigned redirects.
func TestConformanceS3(t *testing.T) {
	harness.SkipIfShort(t)
	g := testserver.StartVersityGW(t, s3Bucket)
	w := startWharf(t, "--config", s3Config(t, g, g.Endpoint, ""))
	runConformance(t, w, nil, nil, nil)
	if n := s3Objects(t, g, w); n == 0 {
		t.Error("the conformance run left no blob in the bucket: storage.s3 was not used")
	}
	if got := strings.Count(w.Log(), "status=307"); got == 0 {
		t.Error("no blob GET was answered with a redirect to S3")
	}
}

// randomLayerTar is a tar holding one file of size random bytes: a layer
// larger than several S3 parts.
func randomLayerTar(t *testing.T, size int) string {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "data/random", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(size),
		ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX})
	tw.Write(data)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return writeTestFile(t, t.TempDir(), "random.tar", buf.String(), 0o600)
}

// TestDockerS3 pushes two images with the real docker daemon to wharf on
// S3 (a small one, and one whose layer spans several multipart parts),
// removes them, and pulls them back through presigned redirects.
func TestDockerS3(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	big := randomLayerTar(t, 40<<20)
	g := testserver.StartVersityGW(t, s3Bucket)
	d := harness.StartDockerd(t)
	w := startWharf(t, "--config", s3Config(t, g, g.Endpoint, "    chunksize: 5242880\n"))
	defer checkRequestIDs(t, w)

	images := map[string]string{w.Addr() + "/e2e/busybox:1": rootfs, w.Addr() + "/e2e/big:1": big}
	ids := map[string]string{}
	for img, tarball := range images {
		d.Run("import", tarball, img)
		ids[img] = strings.TrimSpace(d.Run("image", "inspect", "--format", "{{.Id}}", img))
		start := time.Now()
		d.Run("push", img)
		t.Logf("docker push %s: %v", img, time.Since(start).Round(time.Millisecond))
		d.Run("rmi", img)
	}
	redirectsBefore := strings.Count(w.Log(), "status=307")
	for img := range images {
		start := time.Now()
		d.Run("pull", img)
		t.Logf("docker pull %s: %v", img, time.Since(start).Round(time.Millisecond))
		if got := strings.TrimSpace(d.Run("image", "inspect", "--format", "{{.Id}}", img)); got != ids[img] {
			t.Errorf("%s: image ID after pull = %s, pushed %s", img, got, ids[img])
		}
	}
	// Each image has one layer and one config, each fetched from S3.
	if got := strings.Count(w.Log(), "status=307") - redirectsBefore; got < 2*len(images) {
		t.Errorf("%d blob GETs redirected during the pulls, want at least %d", got, 2*len(images))
	}
	if n := s3Objects(t, g, w); n < 4 {
		t.Errorf("%d blobs in the bucket, want at least 4 (two layers, two configs)", n)
	}
}

// TestS3RedirectRange follows a blob's redirect by hand, whole and with a
// Range, and checks that with storage.redirect.disable the registry serves
// the same bytes and ranges itself.
func TestS3RedirectRange(t *testing.T) {
	harness.SkipIfShort(t)
	g := testserver.StartVersityGW(t, s3Bucket)
	content := make([]byte, 7<<20+5)
	rand.Read(content)
	dgst := digest.SHA256.FromBytes(content)
	for _, tc := range []struct {
		name, extra string
		redirect    bool
	}{
		{"redirect", "", true},
		{"proxied", "  redirect:\n    disable: true\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := startWharf(t, "--config", s3Config(t, g, g.Endpoint, tc.extra))
			put := do(t, http.MethodPost, w.URL()+"/v2/e2e/range/blobs/uploads/?digest="+dgst.String(), bytes.NewReader(content),
				"Content-Type", "application/octet-stream")
			if put.Status != http.StatusCreated {
				t.Fatalf("monolithic push: %v", put)
			}
			noFollow := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			blobURL := w.URL() + "/v2/e2e/range/blobs/" + dgst.String()
			resp, err := noFollow.Get(blobURL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			if tc.redirect {
				if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, g.Endpoint+"/") {
					t.Fatalf("GET blob: %d Location %q, want 307 to %s", resp.StatusCode, loc, g.Endpoint)
				}
			} else if resp.StatusCode != http.StatusOK || loc != "" {
				t.Fatalf("GET blob with redirects disabled: %d Location %q, want 200", resp.StatusCode, loc)
			}
			for _, rng := range []struct {
				header     string
				start, end int
			}{{"", 0, len(content)}, {"bytes=5242870-5242889", 5242870, 5242890}, {"bytes=-3", len(content) - 3, len(content)}} {
				got := do(t, http.MethodGet, blobURL, nil, "Range", rng.header)
				want := http.StatusOK
				if rng.header != "" {
					want = http.StatusPartialContent
				}
				if got.Status != want || !bytes.Equal(got.Body, content[rng.start:rng.end]) {
					t.Errorf("GET %q: %d with %d bytes, want %d with bytes %d-%d", rng.header, got.Status, len(got.Body), want, rng.start, rng.end)
				}
			}
			// A range S3 would ignore is answered by the registry, as
			// on the filesystem.
			if r := do(t, http.MethodGet, blobURL, nil, "Range", "bytes=500-0"); r.Status != http.StatusRequestedRangeNotSatisfiable {
				t.Errorf("GET bytes=500-0: %d, want 416", r.Status)
			}
			if head := do(t, http.MethodHead, blobURL, nil); head.Status != http.StatusOK || head.Header.Get("Content-Length") != fmt.Sprint(len(content)) {
				t.Errorf("HEAD blob: %v, want 200 with Content-Length %d", head, len(content))
			}
		})
	}
}

// TestS3Outage puts a proxy in front of the S3 server that answers 503 on
// demand: pushes and pulls that need S3 fail with UNAVAILABLE and a
// Retry-After, /readyz turns false, and everything works again once S3
// answers.
func TestS3Outage(t *testing.T) {
	harness.SkipIfShort(t)
	g := testserver.StartVersityGW(t, s3Bucket)
	front := testserver.StartS3Outage(t, g.Endpoint)
	w := startWharf(t, "--config", s3Config(t, g, front.URL, "  redirect:\n    disable: true\n"))

	content := []byte("pushed before the outage")
	dgst := digest.SHA256.FromBytes(content)
	blobURL := w.URL() + "/v2/e2e/outage/blobs/" + dgst.String()
	if r := do(t, http.MethodPost, w.URL()+"/v2/e2e/outage/blobs/uploads/?digest="+dgst.String(), bytes.NewReader(content)); r.Status != http.StatusCreated {
		t.Fatalf("push: %v", r)
	}
	if r := do(t, http.MethodGet, w.URL()+"/readyz", nil); r.Status != http.StatusOK {
		t.Fatalf("readyz before the outage: %v", r)
	}

	front.Down.Store(true)
	for _, r := range []response{
		do(t, http.MethodGet, blobURL, nil),
		do(t, http.MethodPost, w.URL()+"/v2/e2e/outage/blobs/uploads/", nil),
	} {
		if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), `"UNAVAILABLE"`) || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s during the outage: %d %s (Retry-After %q), want 503 UNAVAILABLE with Retry-After",
				r.req, r.Status, r.Body, r.Header.Get("Retry-After"))
		}
		if strings.Contains(string(r.Body), g.SecretKey) || strings.Contains(string(r.Body), front.URL) {
			t.Errorf("%s: the answer names the store: %s", r.req, r.Body)
		}
	}
	time.Sleep(1100 * time.Millisecond) // /readyz reuses an answer for a second
	if r := do(t, http.MethodGet, w.URL()+"/readyz", nil); r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "blob storage unavailable") {
		t.Errorf("readyz during the outage: %v, want 503 naming blob storage", r)
	}
	if !strings.Contains(w.Log(), "blob storage unavailable") {
		t.Error("the log does not say that blob storage is unavailable")
	}

	front.Down.Store(false)
	time.Sleep(1100 * time.Millisecond)
	if r := do(t, http.MethodGet, w.URL()+"/readyz", nil); r.Status != http.StatusOK {
		t.Errorf("readyz after the outage: %v", r)
	}
	if r := do(t, http.MethodGet, blobURL, nil); r.Status != http.StatusOK || !bytes.Equal(r.Body, content) {
		t.Errorf("pull after the outage: %v", r)
	}
}

// TestS3GCAndFsck deletes an image from wharf on S3 and runs wharf gc and
// wharf fsck beside the server: the deleted image's blobs leave the bucket,
// the kept one still pulls, fsck hashes every blob in the bucket, and a
// blob corrupted in the bucket is found with the tags it breaks.
func TestS3GCAndFsck(t *testing.T) {
	harness.SkipIfShort(t)
	g := testserver.StartVersityGW(t, s3Bucket)
	cfg := s3Config(t, g, g.Endpoint, "")
	if err := appendFile(cfg, "gc:\n  interval: 0\n  grace: 1s\n"); err != nil {
		t.Fatal(err)
	}
	w := startWharf(t, "--config", cfg)
	ctx := testContext(t, 3*time.Minute)
	kept, err := random.Image(1<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	gone, err := random.Image(6<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	for tag, img := range map[string]v1.Image{"kept": kept, "gone": gone} {
		if err := remote.Write(ref(t, w, "s3/gc:"+tag), img, remoteOpts(ctx)...); err != nil {
			t.Fatalf("push %s: %v", tag, err)
		}
	}
	before := s3Objects(t, g, w)
	gd, _ := gone.Digest()
	if err := remote.Delete(ref(t, w, "s3/gc@"+gd.String()), remoteOpts(ctx)...); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // past the grace period

	cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: w.DataDir()}
	out, err := cli.try("", "gc", "--json", "--config", cfg)
	if err != nil {
		t.Fatalf("wharf gc: %v", err)
	}
	var res struct {
		BlobsDeleted int   `json:"blobs_deleted"`
		BytesFreed   int64 `json:"bytes_freed"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("wharf gc --json printed %q: %v", out, err)
	}
	// Two layers and a config: the manifest itself lives in the database.
	if after := s3Objects(t, g, w); res.BlobsDeleted != 3 || after != before-3 {
		t.Errorf("gc freed %d blobs (%d bytes); the bucket went from %d to %d blobs; want 3 fewer", res.BlobsDeleted, res.BytesFreed, before, after)
	}
	img, err := remote.Image(ref(t, w, "s3/gc:kept"), remoteOpts(ctx)...)
	if err == nil {
		err = validate.Image(img)
	}
	if err != nil {
		t.Errorf("the kept image after gc: %v", err)
	}

	status, rep, stderr := runFsck(t, w.DataDir(), "--config", cfg)
	if status != 0 || len(rep.Problems) != 0 || rep.Blobs != 3 {
		t.Fatalf("wharf fsck on S3: exit %d, %d blobs, problems %+v\n%s", status, rep.Blobs, rep.Problems, stderr)
	}
	layers, _ := kept.Layers()
	ld, _ := layers[0].Digest()
	path := filepath.Join(g.Dir, s3Bucket, "wharf", "blobs", "sha256", ld.Hex[:2], ld.Hex)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	status, rep, stderr = runFsck(t, w.DataDir(), "--config", cfg)
	if status != 1 || len(rep.Problems) != 1 || rep.Problems[0].Kind != "blob-digest" || rep.Problems[0].Digest != ld.String() {
		t.Errorf("wharf fsck of a blob corrupted in the bucket: exit %d, %+v; want blob-digest %s\n%s", status, rep.Problems, ld, stderr)
	}
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// TestS3Figures pushes a blob (one PATCH streaming it, then PUT, as docker
// does) and pulls it back from wharf on the filesystem and on S3, with and
// without redirects, and prints the rates: figures to compare, not
// asserted (the machine is shared). What is asserted is that every pull
// returns the pushed bytes.
func TestS3Figures(t *testing.T) {
	harness.SkipIfShort(t)
	const size = 128 << 20
	content := make([]byte, size)
	rand.Read(content)
	dgst := digest.SHA256.FromBytes(content)
	// A bucket each: a blob already in the bucket would not be written
	// again.
	g1, g2 := testserver.StartVersityGW(t, s3Bucket), testserver.StartVersityGW(t, s3Bucket)
	for _, tc := range []struct{ name, config string }{
		{"filesystem", ""},
		{"s3-redirect", s3Config(t, g1, g1.Endpoint, "")},
		{"s3-proxied", s3Config(t, g2, g2.Endpoint, "  redirect:\n    disable: true\n")},
	} {
		var w *harness.Wharf
		if tc.config == "" {
			w = startWharf(t)
		} else {
			w = startWharf(t, "--config", tc.config)
		}
		repo := w.URL() + "/v2/figures/" + tc.name
		start := time.Now()
		post := do(t, http.MethodPost, repo+"/blobs/uploads/", nil)
		loc, err := url.Parse(post.Header.Get("Location"))
		if post.Status != http.StatusAccepted || err != nil {
			t.Fatalf("%s: POST: %v", tc.name, post)
		}
		up := w.URL() + loc.Path
		if r := do(t, http.MethodPatch, up, bytes.NewReader(content), "Content-Type", "application/octet-stream"); r.Status != http.StatusAccepted {
			t.Fatalf("%s: PATCH: %v", tc.name, r)
		}
		patched := time.Now()
		if r := do(t, http.MethodPut, up+"?digest="+dgst.String(), nil); r.Status != http.StatusCreated {
			t.Fatalf("%s: PUT: %v", tc.name, r)
		}
		push, commit := time.Since(start), time.Since(patched)
		start = time.Now()
		resp, err := httpClient.Get(repo + "/blobs/" + dgst.String())
		if err != nil {
			t.Fatal(err)
		}
		v := digest.SHA256.Digester()
		n, err := io.Copy(v.Hash(), resp.Body)
		resp.Body.Close()
		pull := time.Since(start)
		if err != nil || n != size || v.Digest() != dgst {
			t.Fatalf("%s: pulled %d bytes (%v) with digest %s, want %s", tc.name, n, err, v.Digest(), dgst)
		}
		mib := float64(size) / (1 << 20)
		t.Logf("%-12s push %6.1f MiB/s (%v, of which the committing PUT %v)  pull %6.1f MiB/s (%v)", tc.name, mib/push.Seconds(),
			push.Round(time.Millisecond), commit.Round(time.Millisecond), mib/pull.Seconds(), pull.Round(time.Millisecond))
		w.Stop()
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		t.Logf("load average: %s", strings.TrimSpace(string(load)))
	}
}

// TestRegistryS3Environment runs `wharf registry` configured as a registry:2
// container on S3 is, through REGISTRY_STORAGE=s3 and
// REGISTRY_STORAGE_S3_*: an image pushed lands in the bucket and pulls back.
func TestRegistryS3Environment(t *testing.T) {
	harness.SkipIfShort(t)
	g := testserver.StartVersityGW(t, s3Bucket)
	env := []string{"REGISTRY_STORAGE=s3", "REGISTRY_STORAGE_S3_BUCKET=" + s3Bucket, "REGISTRY_STORAGE_S3_REGION=" + g.Region,
		"REGISTRY_STORAGE_S3_REGIONENDPOINT=" + g.Endpoint, "REGISTRY_STORAGE_S3_FORCEPATHSTYLE=true",
		"REGISTRY_STORAGE_S3_ACCESSKEY=" + g.AccessKey, "REGISTRY_STORAGE_S3_SECRETKEY=" + g.SecretKey,
		"REGISTRY_STORAGE_S3_ROOTDIRECTORY=/wharf", "REGISTRY_STORAGE_S3_V4AUTH=true"}
	w := harness.StartWharfCommand(t, env, "registry", "--addr", "127.0.0.1:0", "--data", t.TempDir())
	ctx := testContext(t, 2*time.Minute)
	img, err := random.Image(2<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref(t, w, "s3/registry:1"), img, remoteOpts(ctx)...); err != nil {
		t.Fatalf("push: %v", err)
	}
	got, err := remote.Image(ref(t, w, "s3/registry:1"), remoteOpts(ctx)...)
	if err == nil {
		err = validate.Image(got)
	}
	if err != nil {
		t.Errorf("pull: %v", err)
	}
	if n := s3Objects(t, g, w); n != 3 {
		t.Errorf("%d blobs in the bucket, want 3 (two layers and a config)", n)
	}
	if strings.Contains(w.Log(), g.SecretKey) {
		t.Error("the log holds the secret key")
	}
}

// TestS3StartupCheck: wharf serve refuses to start on a bucket that does
// not exist, saying what to fix, and starts (not ready) while S3 is down.
func TestS3StartupCheck(t *testing.T) {
	harness.SkipIfShort(t)
	g := testserver.StartVersityGW(t) // no bucket
	cfg := s3Config(t, g, g.Endpoint, "")
	ctx := testContext(t, time.Minute)
	cmd := exec.CommandContext(ctx, harness.WharfBinary(t), "serve", "--config", cfg, "--addr", "127.0.0.1:0",
		"--data", t.TempDir(), "--auth", "none", "--tls", "off")
	cmd.Env = withoutPrefix(os.Environ(), "WHARF_")
	out, err := cmd.CombinedOutput()
	if err == nil || ctx.Err() != nil || !strings.Contains(string(out), `create the bucket "registry"`) {
		t.Errorf("wharf serve on a missing bucket: %v (%v)\n%s", err, ctx.Err(), out)
	}
	if strings.Contains(string(out), g.SecretKey) {
		t.Error("the error shows the secret key")
	}

	front := testserver.StartS3Outage(t, g.Endpoint)
	front.Down.Store(true)
	w := startWharf(t, "--config", s3Config(t, g, front.URL, ""))
	if r := do(t, http.MethodGet, w.URL()+"/readyz", nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("readyz with S3 down at start-up: %v, want 503", r)
	}
	if !strings.Contains(w.Log(), "S3 does not answer; starting anyway") {
		t.Error("the log does not say that S3 did not answer at start-up")
	}
}

// TestCrashSafetyS3 is TestCrashSafety with the blobs on S3: 32 clients
// push while garbage collections run and earlier images are deleted, the
// server and the collection in progress are killed with SIGKILL mid-push
// and restarted, three times; every acknowledged push is whole afterwards,
// what was deleted stays deleted, and wharf fsck, which hashes every blob
// in the bucket, finds nothing wrong.
func TestCrashSafetyS3(t *testing.T) {
	harness.SkipIfShort(t)
	g := testserver.StartVersityGW(t, s3Bucket)
	crashSafety(t, s3Config(t, g, g.Endpoint, crashConfig), 3)
}
