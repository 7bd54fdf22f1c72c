package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"wharf/e2e/harness"
)

// gcLoadClients and gcLoadFor bound the load: 16 clients for 40 seconds.
const (
	gcLoadClients = 16
	gcLoadFor     = 40 * time.Second
	gcGrace       = 5 * time.Second
)

// pushed is an image a client was told is stored (201), by digest.
type pushed struct {
	repo   string
	digest v1.Hash
}

// TestGCUnderLoad runs the server's scheduled collection every second with
// a five-second grace period while 16 clients push images sharing base
// layers, pull them back and delete some. Afterwards every image that was
// acknowledged and not deleted pulls and verifies by digest, the
// collections freed the deleted images' own layers, `wharf gc` beside the
// running server takes its turn through the lease, and `wharf fsck` finds
// nothing wrong.
func TestGCUnderLoad(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wharf.yml")
	// All 16 clients are anonymous on one address, which limits.uploads_per_client
	// counts as one client: room for their parallel layer uploads.
	yml := fmt.Sprintf("gc:\n  interval: 1s\n  grace: %s\n  uploads_grace: 1h\nlimits:\n  uploads_per_client: 128\n", gcGrace)
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	w := harness.StartWharf(t, "--config", cfg, "--log-access", "off")

	bases := make([]v1.Layer, 3)
	for i := range bases {
		l, err := random.Layer(256<<10, types.DockerLayer)
		if err != nil {
			t.Fatal(err)
		}
		bases[i] = l
	}
	ctx := testContext(t, gcLoadFor+3*time.Minute)
	deadline := time.Now().Add(gcLoadFor)
	var (
		mu       sync.Mutex
		kept     = map[string]pushed{} // by repo@digest
		pushes   atomic.Int64
		pulls    atomic.Int64
		deletes  atomic.Int64
		refused  atomic.Int64 // pushes answered BLOB_UNKNOWN after taking longer than the grace
		wg       sync.WaitGroup
		failures = make(chan string, 64)
	)
	fail := func(format string, args ...any) {
		select {
		case failures <- fmt.Sprintf(format, args...):
		default:
		}
	}
	for c := range gcLoadClients {
		wg.Go(func() {
			repo := fmt.Sprintf("load/client%02d", c)
			var mine []pushed
			for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
				own, err := random.Layer(32<<10, types.DockerLayer)
				if err != nil {
					fail("random layer: %v", err)
					return
				}
				img, err := mutate.AppendLayers(empty.Image, bases[(c+n)%len(bases)], own)
				if err != nil {
					fail("image: %v", err)
					return
				}
				dgst, err := img.Digest()
				if err != nil {
					fail("digest: %v", err)
					return
				}
				start := time.Now()
				err = remote.Write(ref(t, w, fmt.Sprintf("%s:t%d", repo, n)), img, remoteOpts(ctx)...)
				var terr *transport.Error
				switch {
				case err == nil:
					p := pushed{repo: repo, digest: dgst}
					mine = append(mine, p)
					mu.Lock()
					kept[repo+"@"+dgst.String()] = p
					mu.Unlock()
					pushes.Add(1)
				case errors.As(err, &terr) && isBlobUnknown(terr) && time.Since(start) > gcGrace:
					refused.Add(1)
					continue
				default:
					fail("push %s:t%d: %v", repo, n, err)
					continue
				}
				// Pull one of this client's images back, verified.
				p := mine[rand.IntN(len(mine))]
				if err := pullVerify(t, w, ctx, p); err != nil {
					fail("pull %s@%s during the load: %v", p.repo, p.digest, err)
				}
				pulls.Add(1)
				// Delete every third image pushed, once it has been pulled.
				if n%3 == 2 && len(mine) > 1 {
					i := rand.IntN(len(mine) - 1)
					d := mine[i]
					if err := remote.Delete(digestRef(t, w, d), remoteOpts(ctx)...); err != nil {
						fail("delete %s@%s: %v", d.repo, d.digest, err)
						continue
					}
					mine = append(mine[:i], mine[i+1:]...)
					mu.Lock()
					delete(kept, d.repo+"@"+d.digest.String())
					mu.Unlock()
					deletes.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}

	// Two more seconds of collections with nothing new, then everything
	// acknowledged and not deleted must still be there, whole.
	time.Sleep(2 * time.Second)
	for _, p := range kept {
		if err := pullVerify(t, w, ctx, p); err != nil {
			t.Errorf("pull %s@%s after the load: %v", p.repo, p.digest, err)
		}
	}

	runs, freed := gcRunsInLog(t, w.Log())
	if strings.Contains(w.Log(), "garbage collection failed") {
		t.Errorf("a collection failed:\n%s", grepLines(w.Log(), "garbage collection failed"))
	}
	if runs == 0 || freed == 0 {
		t.Errorf("%d collections freed %d bytes; want deleted images' layers freed", runs, freed)
	}

	// wharf gc beside the running server: it waits its turn (the server
	// collects every second) and then runs.
	cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: w.DataDir()}
	busy := 0
	var res struct {
		BlobsDeleted int    `json:"blobs_deleted"`
		BytesFreed   int64  `json:"bytes_freed"`
		Error        string `json:"error"`
	}
	for attempt := 0; ; attempt++ {
		out, err := cli.try("", "gc", "--json", "--config", cfg)
		if err == nil {
			if jerr := json.Unmarshal([]byte(out), &res); jerr != nil || res.Error != "" {
				t.Fatalf("wharf gc --json printed %q (%v)", out, jerr)
			}
			break
		}
		if !strings.Contains(err.Error(), "another garbage collection is running") || !strings.Contains(err.Error(), "wharf serve on") {
			t.Fatalf("wharf gc beside the server: %v", err)
		}
		busy++
		if attempt == 50 {
			t.Fatalf("wharf gc found the lease held 50 times in a row: %v", err)
		}
		time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
	}
	// Nothing GC left behind is broken: every blob's bytes match its row
	// and every manifest's references are there.
	if out, err := cli.try("", "fsck", "--config", cfg); err != nil {
		t.Errorf("wharf fsck after the load: %v\n%s", err, out)
	}
	t.Logf("%d clients for %s: %d pushes, %d pulls, %d deletes, %d pushes refused (BLOB_UNKNOWN after more than %s); "+
		"%d scheduled collections freed %d bytes; %d images verified afterwards; wharf gc found the lease held %d times, then freed %d blobs",
		gcLoadClients, gcLoadFor, pushes.Load(), pulls.Load(), deletes.Load(), refused.Load(), gcGrace,
		runs, freed, len(kept), busy, res.BlobsDeleted)
}

func isBlobUnknown(e *transport.Error) bool {
	for _, d := range e.Errors {
		if d.Code == transport.BlobUnknownErrorCode || d.Code == transport.ManifestBlobUnknownErrorCode {
			return true
		}
	}
	return false
}

func digestRef(t testing.TB, w *harness.Wharf, p pushed) name.Reference {
	t.Helper()
	return ref(t, w, p.repo+"@"+p.digest.String())
}

// pullVerify pulls an image by digest and checks every blob against its
// digest.
func pullVerify(t testing.TB, w *harness.Wharf, ctx context.Context, p pushed) error {
	img, err := remote.Image(digestRef(t, w, p), remoteOpts(ctx)...)
	if err != nil {
		return err
	}
	return validate.Image(img)
}

var gcDoneLine = regexp.MustCompile(`msg="garbage collection done".* bytes_freed=(\d+)`)

// gcRunsInLog counts the scheduled collections in the server log and the
// bytes they freed.
func gcRunsInLog(t *testing.T, log string) (runs int, freed int64) {
	t.Helper()
	for _, m := range gcDoneLine.FindAllStringSubmatch(log, -1) {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			t.Fatalf("bytes_freed %q: %v", m[1], err)
		}
		runs++
		freed += n
	}
	return runs, freed
}

// gcStatus is GET /api/v1/gc's answer.
type gcStatus struct {
	Running bool `json:"running"`
	Last    *struct {
		DryRun       bool   `json:"dry_run"`
		BlobsDeleted int    `json:"blobs_deleted"`
		BytesFreed   int64  `json:"bytes_freed"`
		Error        string `json:"error"`
	} `json:"last"`
}

// TestGCAdminAPI: an admin starts collections through the API of a token
// auth server; a dry run counts a deleted image's blobs and keeps them, the
// real run deletes them, and GET follows both.
func TestGCAdminAPI(t *testing.T) {
	harness.SkipIfShort(t)
	const adminPW = "the admin's gc password"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wharf.yml")
	if err := os.WriteFile(cfg, []byte("gc:\n  interval: 0\n  grace: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := harness.StartWharfCommand(t, []string{"WHARF_ADMIN_PASSWORD=" + adminPW},
		"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--auth", "token", "--tls", "off", "--config", cfg)
	t.Cleanup(httpClient.CloseIdleConnections)
	api := adminClient{t: t, base: w.URL() + "/api/v1"}
	admin := basicAuth("admin", adminPW)
	ctx := testContext(t, 2*time.Minute)
	login := remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPW})

	img, err := random.Image(64<<10, 2)
	if err != nil {
		t.Fatal(err)
	}
	r := ref(t, w, "gc/api:v1")
	if err := remote.Write(r, img, remoteOpts(ctx, login)...); err != nil {
		t.Fatal(err)
	}
	dgst, _ := img.Digest()
	if err := remote.Delete(ref(t, w, "gc/api@"+dgst.String()), remoteOpts(ctx, login)...); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // past the grace period
	layers, _ := img.Layers()
	want := len(layers) + 1 // and the config

	run := func(dryRun bool) gcStatus {
		t.Helper()
		var st gcStatus
		api.must(http.StatusAccepted, admin, "POST", "/gc", map[string]bool{"dry_run": dryRun}, &st)
		for deadline := time.Now().Add(time.Minute); st.Running || st.Last == nil || st.Last.DryRun != dryRun; {
			if time.Now().After(deadline) {
				t.Fatalf("the collection did not finish: %+v", st)
			}
			time.Sleep(50 * time.Millisecond)
			api.must(http.StatusOK, admin, "GET", "/gc", nil, &st)
		}
		if st.Last.Error != "" || st.Last.BlobsDeleted != want || st.Last.BytesFreed <= 64<<10 {
			t.Fatalf("dry run %v: last run %+v, want %d blobs freed", dryRun, *st.Last, want)
		}
		return st
	}
	run(true)
	ld, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	// Fetches the layer's bytes from the registry.
	fetch := func() error {
		l, err := remote.Layer(r.Context().Digest(ld.String()), remoteOpts(ctx, login)...)
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(io.Discard, rc)
		return err
	}
	if err := fetch(); err != nil {
		t.Fatalf("a dry run removed a blob: %v", err)
	}
	run(false)
	var terr *transport.Error
	if err := fetch(); !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
		t.Fatalf("fetching the collected layer: %v, want 404", err)
	}
}
