package e2e

// wharf copy between a token-auth Wharf and the real distribution registry
// behind wharf auth: every platform of an index and its signatures, HEAD
// before every blob, and a copy killed with SIGKILL that, run again, sends
// only what it had not finished.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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
	"wharf/internal/replicate"
)

// blobPuts is a reverse proxy in front of a destination registry that
// records, by digest, every blob upload it completed (PUT answered 201)
// and counts every upload request (POST, PATCH, PUT).
type blobPuts struct {
	srv     *httptest.Server
	mu      sync.Mutex
	done    []string // digests of finished uploads, in order
	uploads int      // POST, PATCH and PUT under /blobs/uploads/
	// putDelay (a time.Duration) holds every upload's final PUT back, so
	// that a copy is still running when a test kills it.
	putDelay atomic.Int64
}

func startBlobPuts(t *testing.T, target string) *blobPuts {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "blob-puts.log"))
	if err != nil {
		t.Fatal(err)
	}
	b := &blobPuts{}
	rp := httputil.NewSingleHostReverseProxy(u)
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		if d := time.Duration(b.putDelay.Load()); d > 0 && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			time.Sleep(d)
		}
		rp.ServeHTTP(rec, r)
		b.mu.Lock()
		defer b.mu.Unlock()
		fmt.Fprintf(logf, "%s %s %s %d\n", r.Method, r.URL.Path, r.URL.Query().Get("digest"), rec.status)
		if strings.Contains(r.URL.Path, "/blobs/uploads/") {
			b.uploads++
			if r.Method == http.MethodPut && rec.status == http.StatusCreated {
				b.done = append(b.done, r.URL.Query().Get("digest"))
			}
		}
	}))
	t.Cleanup(func() { b.srv.Close(); logf.Close() })
	return b
}

func (b *blobPuts) finished() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.done...)
}

func (b *blobPuts) uploadRequests() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.uploads
}

func (b *blobPuts) host() string { return strings.TrimPrefix(b.srv.URL, "http://") }

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// authFile writes a docker config.json giving admin's credentials for hosts.
func authFile(t *testing.T, hosts ...string) string {
	t.Helper()
	auths := map[string]map[string]string{}
	for _, h := range hosts {
		auths[h] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte("admin:" + adminPassword))}
	}
	b, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		t.Fatal(err)
	}
	return writeTestFile(t, t.TempDir(), "config.json", string(b), 0o600)
}

// copyResult is wharf copy --json's answer.
type copyResult = replicate.Result

// wharfCopy runs wharf copy --json and decodes its answer.
func wharfCopy(t *testing.T, args ...string) (copyResult, string) {
	t.Helper()
	cmd := exec.Command(harness.WharfBinary(t), append([]string{"copy", "--json"}, args...)...)
	cmd.Env = withoutPrefix(os.Environ(), "WHARF_")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("wharf copy %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	var res copyResult
	if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil {
		t.Fatalf("wharf copy --json: %v\n%s", err, stdout.String())
	}
	return res, stdout.String() + stderr.String()
}

// signedIndex pushes to ref an OCI index of two platforms, a signature
// referring to the index (referrers API) and a cosign-style signature
// tag of its amd64 image, and returns the index and both signatures'
// digests.
func signedIndex(t *testing.T, ctx context.Context, ref string) (idxDigest, sigDigest, cosignDigest v1.Hash, tagged string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var amd64 v1.Hash
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}} {
		img := platformImage(t, p, types.OCIManifestSchema1, types.OCIConfigJSON, types.OCILayer)
		if p.Architecture == "amd64" {
			amd64 = mustDigest(t, img)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	if err := remote.WriteIndex(r, idx, remoteOpts(ctx, proxyAdmin)...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	idxDigest = mustDigest(t, idx)
	raw, err := idx.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	sig, ok := mutate.Subject(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), "application/vnd.dev.cosign.artifact.sig.v1+json"),
		v1.Descriptor{MediaType: types.OCIImageIndex, Digest: idxDigest, Size: int64(len(raw))}).(v1.Image)
	if !ok {
		t.Fatal("mutate.Subject of an image is not an image")
	}
	sigDigest = mustDigest(t, sig)
	if err := remote.Write(r.Context().Digest(sigDigest.String()), sig, remoteOpts(ctx, proxyAdmin)...); err != nil {
		t.Fatalf("push the signature: %v", err)
	}
	cosign, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	tagged = "sha256-" + amd64.Hex + ".sig"
	if err := remote.Write(r.Context().Tag(tagged), cosign, remoteOpts(ctx, proxyAdmin)...); err != nil {
		t.Fatalf("push the cosign tag: %v", err)
	}
	return idxDigest, sigDigest, mustDigest(t, cosign), tagged
}

// checkCopied pulls ref's index with every platform, checks every byte and
// that its digest, its referrer and the cosign tag came along.
func checkCopied(t *testing.T, ctx context.Context, ref string, idxDigest, sigDigest, cosignDigest v1.Hash, tagged string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r, remoteOpts(ctx, proxyAdmin)...)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if got := mustDigest(t, idx); got != idxDigest {
		t.Errorf("%s is %s; want the source's %s", ref, got, idxDigest)
	}
	refs, err := remote.Referrers(r.Context().Digest(idxDigest.String()), remoteOpts(ctx, proxyAdmin)...)
	if err != nil {
		t.Fatalf("referrers of %s: %v", ref, err)
	}
	im, err := refs.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != sigDigest {
		t.Errorf("referrers of %s: %+v; want the signature %s", ref, im.Manifests, sigDigest)
	}
	d, err := remote.Head(r.Context().Tag(tagged), remoteOpts(ctx, proxyAdmin)...)
	if err != nil {
		t.Fatalf("cosign tag %s on %s: %v", tagged, r.Context(), err)
	}
	if d.Digest != cosignDigest {
		t.Errorf("%s:%s is %s; want %s", r.Context(), tagged, d.Digest, cosignDigest)
	}
}

// TestCopyIndexWithSignatures copies a two-platform index with a signature
// from Wharf to distribution (which has no referrers API: the fallback tag
// carries it) and back, then again to see nothing sent twice.
func TestCopyIndexWithSignatures(t *testing.T) {
	harness.SkipIfShort(t)
	ctx := t.Context()
	src := startTokenWharf(t)
	dist, auth := distributionBehindWharfAuth(t, "localhost")
	dst := startBlobPuts(t, "http://"+dist.Addr)
	creds := authFile(t, src.Addr(), dst.host())

	idxDigest, sigDigest, cosignDigest, tagged := signedIndex(t, ctx, src.Addr()+"/team/app:1")
	res, out1 := wharfCopy(t, "--src-authfile", creds, "--dst-authfile", creds, src.Addr()+"/team/app:1", dst.host()+"/mirror/app:1")
	if res.Digest != idxDigest.String() {
		t.Errorf("copy answered digest %s; want %s", res.Digest, idxDigest)
	}
	// index + 2 platforms + signature + cosign tag; each platform has a
	// config and 2 layers, each signature a config (the empty one shared)
	// and the cosign image a config and a layer.
	if res.Manifests != 5 || res.Referrers != 2 {
		t.Errorf("copy wrote %d manifests, %d referrers; want 5 and 2: %+v", res.Manifests, res.Referrers, res)
	}
	sent := len(dst.finished())
	if res.BlobsSent != sent || sent == 0 {
		t.Errorf("copy says it sent %d blobs; the destination finished %d uploads", res.BlobsSent, sent)
	}
	checkCopied(t, ctx, dst.host()+"/mirror/app:1", idxDigest, sigDigest, cosignDigest, tagged)

	// Run again: everything is there (the manifests' HEADs say so before
	// any blob is asked about), nothing is uploaded.
	uploads := dst.uploadRequests()
	again, out2 := wharfCopy(t, "--src-authfile", creds, "--dst-authfile", creds, src.Addr()+"/team/app:1", dst.host()+"/mirror/app:1")
	if again.BlobsSent != 0 || dst.uploadRequests() != uploads {
		t.Errorf("a second copy sent %d blobs (%d upload requests); want none", again.BlobsSent, dst.uploadRequests()-uploads)
	}

	// And back to Wharf, whose referrers API serves the signature.
	back, out3 := wharfCopy(t, "--src-authfile", creds, "--dst-authfile", creds, dst.host()+"/mirror/app:1", src.Addr()+"/team/back:1")
	if back.Digest != idxDigest.String() {
		t.Errorf("copy back answered %s; want %s", back.Digest, idxDigest)
	}
	checkCopied(t, ctx, src.Addr()+"/team/back:1", idxDigest, sigDigest, cosignDigest, tagged)

	secret := base64.StdEncoding.EncodeToString([]byte("admin:" + adminPassword))
	for what, text := range map[string]string{"wharf copy": out1 + out2 + out3, "source": src.Log(), "wharf auth": auth.Log(), "distribution": readFile(t, dist.LogPath)} {
		if strings.Contains(text, adminPassword) || strings.Contains(text, secret) {
			t.Errorf("the %s output holds the password", what)
		}
	}
}

// TestCopyResumesAfterKill kills wharf copy with SIGKILL once some blobs
// reached the destination, runs it again, and checks that no blob is
// uploaded twice.
func TestCopyResumesAfterKill(t *testing.T) {
	harness.SkipIfShort(t)
	ctx := t.Context()
	src := startTokenWharf(t)
	img := pushRandomAsAdmin(t, src.Addr()+"/team/big:1", 512<<10, 6)
	// The source hands out blobs slowly, so that the copy is still running
	// when the test kills it.
	slow := startUpstreamCounter(t, src.URL(), 32<<10, 40*time.Millisecond)
	srcHost := strings.TrimPrefix(slow.srv.URL, "http://")
	dist, _ := distributionBehindWharfAuth(t, "localhost")
	dst := startBlobPuts(t, "http://"+dist.Addr)
	creds := authFile(t, srcHost, dst.host())
	args := []string{"copy", "--jobs", "1", "--src-authfile", creds, "--dst-authfile", creds, srcHost + "/team/big:1", dst.host() + "/team/big:1"}

	cmd := exec.Command(harness.WharfBinary(t), args...)
	cmd.Env = withoutPrefix(os.Environ(), "WHARF_")
	logPath := filepath.Join(t.TempDir(), "copy.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	// Kill once two blobs are in and a progress line was printed (one
	// every 2s on a log).
	for (len(dst.finished()) < 2 || !strings.Contains(readFile(t, logPath), "copy: ")) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill() // SIGKILL
	_ = cmd.Wait()
	first := dst.finished()
	if len(first) < 2 || len(first) >= 7 {
		t.Fatalf("the killed copy finished %d blob uploads; want it killed between 2 and the 7th (6 layers and a config)\n%s", len(first), readFile(t, logPath))
	}
	if log := readFile(t, logPath); !strings.Contains(log, " of ") {
		t.Errorf("the killed copy printed no progress line (copy: DONE of TOTAL):\n%s", log)
	}

	res, _ := wharfCopy(t, args[1:]...)
	second := dst.finished()[len(first):]
	for _, d := range second {
		for _, f := range first {
			if d == f {
				t.Errorf("blob %s was uploaded again after the restart", d)
			}
		}
	}
	if len(first)+len(second) != 7 || res.BlobsSent != len(second) || res.BlobsSkipped < len(first) {
		t.Errorf("uploads: %d before the kill, %d after (the copy says %d sent, %d skipped); want 7 in all, each once",
			len(first), len(second), res.BlobsSent, res.BlobsSkipped)
	}
	t.Logf("blobs uploaded before SIGKILL: %d, after: %d; bytes sent by the second run: %d", len(first), len(second), res.Bytes)
	got := pullValidate(t, dst.host()+"/team/big:1", remoteOpts(ctx, proxyAdmin)...)
	if mustDigest(t, got) != mustDigest(t, img) {
		t.Errorf("the destination holds %s; want %s", mustDigest(t, got), mustDigest(t, img))
	}
}
