package e2e

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
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

// ref parses an image reference on the server under test (plain HTTP).
func ref(t testing.TB, w *harness.Wharf, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(w.Addr()+"/"+s, name.Insecure, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// plainHTTP is the transport of every go-containerregistry call. For a
// registry reached over plain HTTP, the client first tries https and only
// falls back to http after 300 ms if that attempt hangs (a TLS hello sent to
// an HTTP server often does); refusing TLS at once skips the wait.
var plainHTTP http.RoundTripper = func() http.RoundTripper {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	t.DialTLSContext = func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("e2e: wharf serves plain HTTP (--tls off)")
	}
	return t
}()

// remoteOpts are the client options every go-containerregistry call uses: a
// context bounding the call and no retries, so a server error is seen as is.
func remoteOpts(ctx context.Context, extra ...remote.Option) []remote.Option {
	return append([]remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(plainHTTP),
		remote.WithRetryBackoff(remote.Backoff{Duration: 0, Steps: 1}),
	}, extra...)
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// platformImage is a small image for one platform with the given media types.
func platformImage(t testing.TB, p v1.Platform, manifestMT, configMT, layerMT types.MediaType) v1.Image {
	t.Helper()
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, manifestMT), configMT)
	for range 2 {
		l, err := random.Layer(64<<10, layerMT)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

func mustDigest(t testing.TB, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestMultiPlatform pushes an OCI index and a Docker manifest list of
// linux/amd64 + linux/arm64 images, then pulls them back by tag and digest,
// validates every byte and resolves each platform.
func TestMultiPlatform(t *testing.T) {
	harness.SkipIfShort(t)
	w := startWharf(t)
	platforms := []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}}

	for _, tc := range []struct {
		name                                   string
		repo                                   string
		indexMT, manifestMT, configMT, layerMT types.MediaType
	}{
		{"oci index", "e2e/multi-oci", types.OCIImageIndex, types.OCIManifestSchema1, types.OCIConfigJSON, types.OCILayer},
		{"docker manifest list", "e2e/multi-docker", types.DockerManifestList, types.DockerManifestSchema2, types.DockerConfigJSON, types.DockerLayer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t, 5*time.Minute)
			idx := mutate.IndexMediaType(empty.Index, tc.indexMT)
			want := map[string]v1.Hash{} // platform → image digest
			for _, p := range platforms {
				img := platformImage(t, p, tc.manifestMT, tc.configMT, tc.layerMT)
				want[p.String()] = mustDigest(t, img)
				idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
			}
			idxDigest := mustDigest(t, idx)
			rawIdx, err := idx.RawManifest()
			if err != nil {
				t.Fatal(err)
			}
			tag := ref(t, w, tc.repo+":multi")
			if err := remote.WriteIndex(tag, idx, remoteOpts(ctx)...); err != nil {
				t.Fatalf("push %s: %v", tag, err)
			}

			byDigest := ref(t, w, tc.repo+"@"+idxDigest.String())
			for _, r := range []name.Reference{tag, byDigest} {
				desc, err := remote.Get(r, remoteOpts(ctx)...)
				if err != nil {
					t.Fatalf("get %s: %v", r, err)
				}
				if desc.MediaType != tc.indexMT || desc.Digest != idxDigest || !bytes.Equal(desc.Manifest, rawIdx) {
					t.Errorf("get %s: media type %s digest %s, want %s %s and the pushed bytes (equal: %v)",
						r, desc.MediaType, desc.Digest, tc.indexMT, idxDigest, bytes.Equal(desc.Manifest, rawIdx))
				}
				got, err := desc.ImageIndex()
				if err != nil {
					t.Fatal(err)
				}
				if err := validate.Index(got); err != nil {
					t.Errorf("validate.Index(%s): %v", r, err)
				}
			}

			head := do(t, http.MethodHead, w.URL()+"/v2/"+tc.repo+"/manifests/multi", nil,
				"Accept", string(tc.indexMT)+", "+string(tc.manifestMT))
			if head.Status != http.StatusOK || head.Header.Get("Content-Type") != string(tc.indexMT) ||
				head.Header.Get("Docker-Content-Digest") != idxDigest.String() ||
				head.Header.Get("Content-Length") != fmt.Sprint(len(rawIdx)) {
				t.Errorf("HEAD by tag: want 200, Content-Type %s, Docker-Content-Digest %s, Content-Length %d: %v",
					tc.indexMT, idxDigest, len(rawIdx), head)
			}

			for _, p := range platforms {
				img, err := remote.Image(tag, remoteOpts(ctx, remote.WithPlatform(p))...)
				if err != nil {
					t.Fatalf("pull %s for %s: %v", tag, p, err)
				}
				if got := mustDigest(t, img); got != want[p.String()] {
					t.Errorf("platform %s resolved to %s, want %s", p, got, want[p.String()])
				}
				if err := validate.Image(img); err != nil {
					t.Errorf("validate.Image(%s, %s): %v", tag, p, err)
				}
				if cf, err := img.ConfigFile(); err != nil || cf.Architecture != p.Architecture {
					t.Errorf("platform %s: config %+v, %v", p, cf, err)
				}
			}
		})
	}
}

// recorder is an http.RoundTripper that remembers what the client sent and
// what the server answered, to prove which upload path a push took.
type recorder struct {
	mu   sync.Mutex
	seen []string // "METHOD path?query STATUS"
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := plainHTTP.RoundTrip(req)
	line := req.Method + " " + req.URL.RequestURI() + " "
	if err != nil {
		line += "error: " + err.Error()
	} else {
		line += fmt.Sprint(resp.StatusCode)
	}
	r.mu.Lock()
	r.seen = append(r.seen, line)
	r.mu.Unlock()
	return resp, err
}

// TestCrossRepoMount checks that a blob already in one repository is mounted,
// not uploaded again, into another: by hand over HTTP, and by the client.
func TestCrossRepoMount(t *testing.T) {
	harness.SkipIfShort(t)
	w := startWharf(t)
	ctx := testContext(t, 5*time.Minute)

	img, err := random.Image(256<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	src := ref(t, w, "e2e/mount-src:v1")
	if err := remote.Write(src, img, remoteOpts(ctx)...); err != nil {
		t.Fatalf("push %s: %v", src, err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}

	// By hand: POST ?mount=&from= is 201 Created with the blob's location.
	l0 := mustDigest(t, layers[0]).String()
	r := do(t, http.MethodPost, w.URL()+"/v2/e2e/mount-dst/blobs/uploads/?mount="+l0+"&from=e2e/mount-src", nil)
	if r.Status != http.StatusCreated || !strings.HasSuffix(r.Header.Get("Location"), "/v2/e2e/mount-dst/blobs/"+l0) {
		t.Errorf("mount: want 201 with Location …/v2/e2e/mount-dst/blobs/%s: %v", l0, r)
	}
	if d := r.Header.Get("Docker-Content-Digest"); d != "" && d != l0 {
		t.Errorf("mount: Docker-Content-Digest %q, want %s", d, l0)
	}
	size, _ := layers[0].Size()
	if r := do(t, http.MethodHead, w.URL()+"/v2/e2e/mount-dst/blobs/"+l0, nil); r.Status != http.StatusOK || r.Header.Get("Content-Length") != fmt.Sprint(size) {
		t.Errorf("HEAD mounted blob: want 200, Content-Length %d: %v", size, r)
	}
	// A blob the source repository does not have is not mounted: the server
	// starts an ordinary upload instead (202 + Location).
	missing := "sha256:" + strings.Repeat("0", 63) + "1"
	r = do(t, http.MethodPost, w.URL()+"/v2/e2e/mount-dst/blobs/uploads/?mount="+missing+"&from=e2e/mount-src", nil)
	if r.Status != http.StatusAccepted || r.Header.Get("Location") == "" {
		t.Errorf("mount of a missing blob: want 202 with an upload Location: %v", r)
	}

	// A blob is visible only in repositories that it was pushed or mounted
	// to; otherwise a client would skip the mount (and access control on
	// repositories would leak content).
	visible := map[v1.Hash]bool{}
	for _, l := range layers {
		u := w.URL() + "/v2/e2e/mount-dst2/blobs/" + mustDigest(t, l).String()
		if r := do(t, http.MethodHead, u, nil); r.Status != http.StatusNotFound {
			visible[mustDigest(t, l)] = true
			t.Errorf("blob of e2e/mount-src seen in e2e/mount-dst2 before any push there: want 404: %v", r)
		}
	}

	// By the client: pushing an image pulled from e2e/mount-src to another
	// repository mounts every layer.
	pulled, err := remote.Image(src, remoteOpts(ctx)...)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	dst := ref(t, w, "e2e/mount-dst2:v1")
	if err := remote.Write(dst, pulled, remoteOpts(ctx, remote.WithTransport(rec))...); err != nil {
		t.Fatalf("push %s: %v", dst, err)
	}
	all := strings.Join(rec.seen, "\n")
	for _, l := range layers {
		if visible[mustDigest(t, l)] {
			continue // already reported; the client rightly skipped it
		}
		want := "mount=" + strings.Replace(mustDigest(t, l).String(), ":", "%3A", 1)
		found := false
		for _, s := range rec.seen {
			found = found || (strings.HasPrefix(s, "POST ") && strings.Contains(s, want) && strings.HasSuffix(s, " 201"))
		}
		if !found {
			t.Errorf("layer %s was not mounted (no POST …%s… answered 201); requests:\n%s", mustDigest(t, l), want, all)
		}
	}
	if strings.Contains(all, "PATCH ") {
		t.Logf("note: some blob was uploaded rather than mounted:\n%s", all)
	}
	got, err := remote.Image(dst, remoteOpts(ctx)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Errorf("validate.Image(%s): %v", dst, err)
	}
}

// keystream is a deterministic, incompressible byte stream (AES-CTR over
// zeros): the same seed always yields the same bytes, so a 300 MiB blob never
// sits in memory, and it is fast even under -race (the cipher is assembly).
func keystream(seed uint64, size int64) io.Reader {
	var key [16]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // unreachable: the key length is fixed
	}
	return io.LimitReader(cipher.StreamReader{S: cipher.NewCTR(block, make([]byte, aes.BlockSize)), R: zeros{}}, size)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// streamLayer is a v1.Layer whose bytes come from keystream.
type streamLayer struct {
	seed   uint64
	size   int64
	digest v1.Hash
}

func newStreamLayer(t testing.TB, seed uint64, size int64) *streamLayer {
	h := sha256.New()
	if _, err := io.Copy(h, keystream(seed, size)); err != nil {
		t.Fatal(err)
	}
	return &streamLayer{seed: seed, size: size, digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}}
}

func (l *streamLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *streamLayer) DiffID() (v1.Hash, error) { return l.digest, nil }
func (l *streamLayer) Size() (int64, error)     { return l.size, nil }
func (l *streamLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(keystream(l.seed, l.size)), nil
}
func (l *streamLayer) Uncompressed() (io.ReadCloser, error) { return l.Compressed() }
func (l *streamLayer) MediaType() (types.MediaType, error) {
	return types.OCIUncompressedLayer, nil
}

// rssSampler polls the server's resident set size while a transfer runs.
type rssSampler struct {
	stop chan struct{}
	done chan struct{}
	max  int64 // KiB
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if kb, err := harness.ProcStatusKiB(pid, "VmRSS"); err == nil {
				s.max = max(s.max, kb)
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) Stop() int64 { close(s.stop); <-s.done; return s.max }

// TestLargeBlobStreams pushes and pulls a 2 GiB blob and checks that the
// server's peak memory stays far below the blob size (it must stream, never
// buffer), then reads ranges of it.
func TestLargeBlobStreams(t *testing.T) {
	harness.SkipIfShort(t)
	const (
		size     = 2 << 30
		peakKiB  = 100 << 10 // VmHWM bound: a twentieth of the blob, and well above an idle server
		repoName = "e2e/large"
	)
	layer := newStreamLayer(t, 42, size)
	w := startWharf(t)
	ctx := testContext(t, 10*time.Minute)
	pid := w.PID()
	idle, _ := harness.ProcStatusKiB(pid, "VmRSS")

	rss := sampleRSS(pid)
	repo := ref(t, w, repoName+":x").Context()
	start := time.Now()
	if err := remote.WriteLayer(repo, layer, remoteOpts(ctx)...); err != nil {
		rss.Stop()
		t.Fatalf("push 2 GiB blob: %v", err)
	}
	pushTook := time.Since(start)

	blobURL := w.URL() + "/v2/" + repoName + "/blobs/" + layer.digest.String()
	if r := do(t, http.MethodHead, blobURL, nil); r.Status != http.StatusOK || r.Header.Get("Content-Length") != fmt.Sprint(size) {
		t.Errorf("HEAD blob: want 200 with Content-Length %d: %v", size, r)
	}
	start = time.Now()
	n, got := getAndHash(t, blobURL)
	pullTook := time.Since(start)
	maxRSS := rss.Stop()
	hwm, err := harness.ProcStatusKiB(pid, "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("server RSS: idle %d KiB, max sampled %d KiB, VmHWM %d KiB; push %v, pull %v",
		idle, maxRSS, hwm, pushTook.Round(time.Millisecond), pullTook.Round(time.Millisecond))
	if n != size || got != layer.digest.String() {
		t.Errorf("GET blob: %d bytes with digest %s, want %d bytes %s", n, got, size, layer.digest)
	}
	if hwm > peakKiB {
		t.Errorf("server peak RSS (VmHWM) %d KiB > %d KiB while moving a %d MiB blob: it buffers blobs in memory",
			hwm, peakKiB, size>>20)
	}

	for _, tc := range []struct {
		name          string
		header        string
		start, end    int64 // inclusive
		unsatisfiable bool
	}{
		{"middle", "bytes=100000000-100065535", 100000000, 100065535, false},
		{"first byte", "bytes=0-0", 0, 0, false},
		{"open end", fmt.Sprintf("bytes=%d-", size-1000), size - 1000, size - 1, false},
		{"past the end", fmt.Sprintf("bytes=%d-", size), 0, 0, true},
	} {
		t.Run("range "+tc.name, func(t *testing.T) {
			r := do(t, http.MethodGet, blobURL, nil, "Range", tc.header)
			if tc.unsatisfiable {
				if r.Status != http.StatusRequestedRangeNotSatisfiable {
					t.Errorf("Range %s: want 416: %v", tc.header, r)
				}
				return
			}
			wantCR := fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, size)
			if r.Status != http.StatusPartialContent || r.Header.Get("Content-Range") != wantCR {
				t.Fatalf("Range %s: want 206 with Content-Range %q: %v", tc.header, wantCR, r)
			}
			src := keystream(42, size)
			if _, err := io.CopyN(io.Discard, src, tc.start); err != nil {
				t.Fatal(err)
			}
			want := make([]byte, tc.end-tc.start+1)
			if _, err := io.ReadFull(src, want); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(r.Body, want) {
				t.Errorf("Range %s: got %d bytes that differ from the blob's bytes %d-%d", tc.header, len(r.Body), tc.start, tc.end)
			}
		})
	}
}

// getAndHash streams a GET response into sha256, returning size and digest.
func getAndHash(t testing.TB, url string) (int64, string) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		t.Fatalf("GET %s: after %d bytes: %v", url, n, err)
	}
	return n, "sha256:" + hex.EncodeToString(h.Sum(nil))
}
