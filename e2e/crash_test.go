package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"wharf/e2e/harness"
)

const (
	crashWorkers   = 32
	crashCycles    = 5
	crashMaxPushes = 40                      // per worker and cycle: bounds the loop if the server is very fast
	crashKillAfter = 1500 * time.Millisecond // of pushing, before kill -9 (±200 ms by cycle)
	crashMinAcks   = 8                       // pushes acknowledged in a cycle before its kill, on a busy machine too
	crashRepo      = "crash/w"               // + worker number
)

// pushedImage is a push the server acknowledged (the manifest PUT returned
// success to the client).
type pushedImage struct {
	repo, tag string
	digest    v1.Hash
}

// TestCrashSafety pushes images from 32 concurrent clients while garbage
// collections run (the server's schedule every 250 ms and wharf gc in a
// loop beside it) and images acknowledged earlier are deleted or untagged,
// kills the server and the collection in progress with SIGKILL, restarts
// the server on the same data directory and checks the design's promise:
// nothing acknowledged is lost, nothing half-written is visible, what was
// deleted stays deleted, a lease left by a killed collector is taken over
// once it expires, and wharf fsck (run beside the restarted server) finds
// every blob's bytes and every manifest's references whole. Five kill
// cycles; acknowledged images accumulate across them. At the end, one more
// collection frees every deleted image's blobs, and what was not deleted
// still pulls whole.
func TestCrashSafety(t *testing.T) {
	harness.SkipIfShort(t)
	crashSafety(t, writeConfig(t, t.TempDir(), crashConfig), crashCycles)
}

// crashConfig is the configuration of the crash tests but for storage. The
// 32 pushers stand for 32 clients, but all come from 127.0.0.1: the
// per-client cap on uploads is raised to what 32 clients get.
var crashConfig = "limits:\n  uploads_per_client: 256\n" + crashGCConfig

// crashSafety is TestCrashSafety on the storage cfg names, for cycles kill
// cycles.
func crashSafety(t *testing.T, cfg string, cycles int) {
	w := startWharf(t, "--config", cfg)
	gcl := newGCLoop(t, cfg, w.DataDir())
	db := openDB(t, w.DataDir())
	var imgs []*crashImg
	for cycle := range cycles {
		got, orphan, killedAt := pushUntilKilled(t, w, gcl, db, cycle, imgs)
		t.Logf("cycle %d: %d pushes acknowledged before kill -9", cycle, len(got))
		imgs = append(imgs, got...)
		gcl.stats.countScheduled(t, w.Log())
		w.Restart()
		// The pulls and fsck below run while the collections resume.
		var takeover sync.WaitGroup
		takeover.Go(func() { gcl.awaitTakeover(testContext(t, time.Minute), orphan, killedAt) })
		checkDeleted(t, w, imgs)
		verifyAfterCrash(t, w, live(imgs))
		fsckClean(t, w.DataDir(), "--config", cfg)
		takeover.Wait()
		if t.Failed() {
			return
		}
	}
	if len(imgs) == 0 {
		t.Fatal("no push was acknowledged in any cycle: the test proved nothing")
	}

	// What was deleted had been pushed more than the grace period before
	// (deleteSome picks such images): one more collection frees it all,
	// and takes nothing that was not deleted.
	gcl.start()
	collected := false
	for attempt := 0; !collected && attempt < 100; attempt++ {
		out, err := gcl.once(testContext(t, time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		collected = out.held == nil
		time.Sleep(100 * time.Millisecond)
	}
	if !collected {
		t.Fatal("wharf gc found the lease held 100 times in a row")
	}
	images, blobs := checkCollected(t, w, imgs)
	verifyAfterCrash(t, w, live(imgs))
	fsckClean(t, w.DataDir(), "--config", cfg)
	gcl.stats.countScheduled(t, w.Log())
	t.Logf("%d deleted images and their %d own blobs are gone", images, blobs)
	t.Logf("%s", crashFigures(&gcl.stats, cycles, len(imgs)))
	if images == 0 || gcl.stats.blobs+gcl.stats.scheduledBlobs == 0 {
		t.Error("nothing was deleted or collected: the collections during the kills had no work")
	}
	if gcl.stats.interrupted == 0 {
		t.Error("no kill landed in a collection: the test did not show a killed collector's lease taken over")
	}
}

// live is the images acknowledged and not deleted.
func live(imgs []*crashImg) []pushedImage {
	var out []pushedImage
	for _, im := range imgs {
		if im.state == imgLive {
			out = append(out, im.pushedImage)
		}
	}
	return out
}

// pushUntilKilled runs the pushers, the collections and the deletes, kills
// the server and the collection in progress after crashKillAfter, after
// crashMinAcks acknowledged pushes and while a collection holds the lease
// (both bounded), and returns the acknowledged pushes, the lease as the kill
// left it, and the time of the kill.
func pushUntilKilled(t *testing.T, w *harness.Wharf, gcl *gcLoop, db *sql.DB, cycle int, earlier []*crashImg) ([]*crashImg, leaseHolder, time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	shared := sharedLayers(t, cycle)
	addr := w.Addr()
	var (
		mu         sync.Mutex
		acked      []*crashImg
		killed     atomic.Bool
		enoughAcks = make(chan struct{})
		once       sync.Once
		wg         sync.WaitGroup
		failures   = make(chan string, 16)
	)
	for worker := range crashWorkers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(cycle), uint64(worker)))
			repo := fmt.Sprint(crashRepo, worker)
			for n := range crashMaxPushes {
				if ctx.Err() != nil || killed.Load() {
					return
				}
				img, err := crashImage(rng, shared)
				if err != nil {
					t.Error(err)
					return
				}
				tag := fmt.Sprintf("c%d-n%d", cycle, n)
				r, err := name.ParseReference(addr+"/"+repo+":"+tag, name.Insecure)
				if err != nil {
					t.Error(err)
					return
				}
				start := time.Now()
				err = remote.Write(r, img, remoteOpts(ctx)...)
				var terr *transport.Error
				switch {
				case err == nil:
				case killed.Load():
					return
				case errors.As(err, &terr) && isBlobUnknown(terr) && time.Since(start) > crashGrace:
					// A collection took a blob this push had uploaded
					// more than the grace period before its manifest.
					gcl.count(func(s *gcStats) { s.refusedPushes++ })
					continue
				default:
					t.Errorf("push %s:%s failed before the kill: %v", repo, tag, err)
					return
				}
				own, _ := ownBlobs(t, img)
				im := &crashImg{pushedImage: pushedImage{repo: repo, tag: tag, digest: mustDigest(t, img)}, ackedAt: time.Now(), own: own}
				mu.Lock()
				acked = append(acked, im)
				if len(acked) >= crashMinAcks {
					once.Do(func() { close(enoughAcks) })
				}
				mu.Unlock()
			}
		})
	}
	// Garbage collections beside the pushers: the kill below interrupts
	// them too, and after the restart fsckClean and verifyAfterCrash prove
	// that a collection cut short loses nothing acknowledged.
	gcl.start()
	wg.Go(func() { gcl.run(ctx, failures) })
	wg.Go(func() { deleteSome(ctx, t, w, gcl, earlier, killed.Load) })

	// The only timing in this test: the trigger for the kill, a little
	// different in each cycle to catch the pushes in other phases.
	<-time.After(crashKillAfter + time.Duration(cycle-1)*200*time.Millisecond)
	select {
	case <-enoughAcks:
	case <-time.After(30 * time.Second):
		t.Errorf("fewer than %d pushes acknowledged within 30s", crashMinAcks)
	}
	// And the kill lands in a collection: the server's or wharf gc's.
	holder, collecting := awaitCollecting(t, db, 5*time.Second)
	if !collecting {
		gcl.count(func(s *gcStats) { s.idleKills++ })
	}
	killed.Store(true)
	// The holder first: a collection lasts milliseconds.
	if holder == w.PID() {
		gcl.killServer(w.PID())
		w.Kill9()
		gcl.kill9()
	} else {
		gcl.kill9()
		gcl.killServer(w.PID())
		w.Kill9()
	}
	killedAt := time.Now()
	cancel()
	wg.Wait()
	// Read once wharf gc is gone too: no collector runs until the restart.
	orphan := lease(t, db)
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	mu.Lock()
	defer mu.Unlock()
	return acked, orphan, killedAt
}

// ownBlobs are the digests of an image's config and layers but the first
// (the shared one), and their bytes.
func ownBlobs(t *testing.T, img v1.Image) (digests []string, size int64) {
	t.Helper()
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	digests, size = []string{cfg.String()}, int64(len(raw))
	for _, l := range layers[1:] {
		n, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		digests, size = append(digests, mustDigest(t, l).String()), size+n
	}
	return digests, size
}

// sharedLayers are pushed by every worker in a cycle, so the same blob is
// uploaded concurrently into several repositories when the kill comes.
func sharedLayers(t *testing.T, cycle int) []v1.Layer {
	rng := rand.New(rand.NewPCG(uint64(cycle), 1<<32))
	var out []v1.Layer
	for range 3 {
		l, err := randomLayer(rng, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// randomLayer is a real tar+gzip layer holding one file of random bytes.
// The gzip stream uses stored blocks and both digests are computed while it
// is built: valid for every client and cheap (even under -race), so the 8
// pushers are bound by the server rather than by their own CPU.
func randomLayer(rng *rand.Rand, size int) (v1.Layer, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(keystream(rng.Uint64(), int64(size)), data); err != nil {
		return nil, err
	}

	var gz bytes.Buffer
	diffID := sha256.New()
	zw, err := gzip.NewWriterLevel(&gz, gzip.NoCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(io.MultiWriter(zw, diffID))
	if err := tw.WriteHeader(&tar.Header{Name: "random.bin", Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	digest := sha256.Sum256(gz.Bytes())
	return &gzipLayer{
		gz:     gz.Bytes(),
		digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(digest[:])},
		diffID: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diffID.Sum(nil))},
	}, nil
}

// gzipLayer is an in-memory tar+gzip layer with precomputed digests.
type gzipLayer struct {
	gz             []byte
	digest, diffID v1.Hash
}

func (l *gzipLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *gzipLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *gzipLayer) Size() (int64, error)                { return int64(len(l.gz)), nil }
func (l *gzipLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (l *gzipLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.gz)), nil
}
func (l *gzipLayer) Uncompressed() (io.ReadCloser, error) {
	return gzip.NewReader(bytes.NewReader(l.gz))
}

// crashImage is an OCI image with one shared layer and 1–3 unique layers of
// 1–4 MiB each.
func crashImage(rng *rand.Rand, shared []v1.Layer) (v1.Image, error) {
	layers := []v1.Layer{shared[rng.IntN(len(shared))]}
	for range 1 + rng.IntN(3) {
		l, err := randomLayer(rng, (1+rng.IntN(4))<<20)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	return mutate.AppendLayers(img, layers...)
}

// verifyAfterCrash checks the restarted server: every tag it lists is a
// complete, valid image; every acknowledged push is there, by tag and by
// digest.
func verifyAfterCrash(t *testing.T, w *harness.Wharf, acked []pushedImage) {
	t.Helper()
	ctx := testContext(t, 10*time.Minute)
	listed := map[string]v1.Hash{} // repo:tag → manifest digest
	var repos []string
	for _, r := range catalog(t, w) {
		if strings.HasPrefix(r, crashRepo) {
			repos = append(repos, r)
		}
	}
	for _, repo := range repos {
		for _, tag := range tags(t, w, repo) {
			img, err := remote.Image(ref(t, w, repo+":"+tag), remoteOpts(ctx)...)
			if err != nil {
				t.Errorf("listed tag %s:%s does not resolve to an image: %v", repo, tag, err)
				continue
			}
			listed[repo+":"+tag] = mustDigest(t, img)
			if err := validate.Image(img); err != nil {
				t.Errorf("listed tag %s:%s is not a complete, valid image: %v", repo, tag, err)
			}
		}
	}

	var missing []string
	for _, p := range acked {
		key := p.repo + ":" + p.tag
		var problems []string
		got, ok := listed[key]
		switch {
		case !slices.Contains(repos, p.repo):
			problems = append(problems, "repository not in /v2/_catalog")
		case !ok:
			problems = append(problems, "tag not in tags/list")
		case got != p.digest:
			problems = append(problems, fmt.Sprintf("tag points to %s, acknowledged %s", got, p.digest))
		}
		img, err := remote.Image(ref(t, w, p.repo+"@"+p.digest.String()), remoteOpts(ctx)...)
		if err == nil {
			// Its bytes were checked through the tag; by digest, the
			// manifest and its blobs must be reachable too.
			err = validate.Image(img, validate.Fast)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("by digest %s: %v", p.digest, err))
		}
		if len(problems) > 0 {
			missing = append(missing, key+": "+strings.Join(problems, "; "))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged pushes lost or damaged after kill -9 and restart:\n%s",
			len(missing), len(acked), strings.Join(missing, "\n"))
	}
	t.Logf("after restart: checked %d listed tags in %d repositories and %d acknowledged pushes",
		len(listed), len(repos), len(acked))
}

// tripLayer is a streamLayer that closes trip once the client has sent
// `after` bytes of it, so the test can kill the server mid-upload.
type tripLayer struct {
	*streamLayer
	after int64
	trip  chan struct{}
	once  sync.Once
}

func (l *tripLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.streamLayer.Compressed()
	return &tripReader{ReadCloser: rc, l: l}, err
}

type tripReader struct {
	io.ReadCloser
	l    *tripLayer
	sent int64
}

func (r *tripReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if r.sent += int64(n); r.sent >= r.l.after {
		r.l.once.Do(func() { close(r.l.trip) })
	}
	return n, err
}

// TestCrashDuringLargeUpload kills the server while a 300 MiB blob is a
// third uploaded: after a restart the blob must not be visible (not even
// truncated), and pushing it again must work and give back the right bytes.
func TestCrashDuringLargeUpload(t *testing.T) {
	harness.SkipIfShort(t)
	const size = 300 << 20
	layer := &tripLayer{streamLayer: newStreamLayer(t, 7, size), after: size / 3, trip: make(chan struct{})}
	w := startWharf(t)
	ctx := testContext(t, 10*time.Minute)
	repo := ref(t, w, "crash/large:x").Context()

	pushErr := make(chan error, 1)
	go func() { pushErr <- remote.WriteLayer(repo, layer, remoteOpts(ctx)...) }()
	select {
	case <-layer.trip:
	case err := <-pushErr:
		t.Fatalf("push ended before a third was sent: %v", err)
	case <-time.After(5 * time.Minute):
		t.Fatal("a third of the blob was not sent within 5 minutes")
	}
	w.Kill9()
	if err := <-pushErr; err == nil {
		t.Fatal("push of a 300 MiB blob succeeded although the server was killed after a third of it")
	}

	w.Restart()
	blobURL := func() string { return w.URL() + "/v2/crash/large/blobs/" + layer.digest.String() }
	if r := do(t, http.MethodHead, blobURL(), nil); r.Status != http.StatusNotFound {
		t.Fatalf("blob killed mid-upload is visible after restart: want 404: %v", r)
	}
	repo = ref(t, w, "crash/large:x").Context()
	if err := remote.WriteLayer(repo, layer.streamLayer, remoteOpts(ctx)...); err != nil {
		t.Fatalf("push again after restart: %v", err)
	}
	if n, got := getAndHash(t, blobURL()); n != size || got != layer.digest.String() {
		t.Errorf("GET blob after re-push: %d bytes with digest %s, want %d bytes %s", n, got, size, layer.digest)
	}
}
