package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"wharf/e2e/harness"
)

// fsckReport is what the tests read of wharf fsck --json.
type fsckReport struct {
	Blobs     int64 `json:"blobs"`
	Bytes     int64 `json:"bytes"`
	Manifests int64 `json:"manifests"`
	Tags      int64 `json:"tags"`
	Problems  []struct {
		Kind   string   `json:"kind"`
		Digest string   `json:"digest"`
		Tags   []string `json:"tags"`
		Repair string   `json:"repair"`
	} `json:"problems"`
	Orphans     []struct{ Digest string } `json:"orphans"`
	OrphanBytes int64                     `json:"orphan_bytes"`
	Untagged    []string                  `json:"untagged"`
	Seconds     float64                   `json:"seconds"`
}

// runFsck runs the built wharf fsck --json on data (and args) and returns
// its exit status, its report and what it wrote on stderr.
func runFsck(t *testing.T, data string, args ...string) (int, fsckReport, string) {
	t.Helper()
	return runFsckEnv(t, nil, data, args...)
}

// runFsckEnv is runFsck with env added to the environment (WHARF_* of the
// test's own are dropped).
func runFsckEnv(t *testing.T, env []string, data string, args ...string) (int, fsckReport, string) {
	t.Helper()
	cmd := exec.Command(harness.WharfBinary(t), append([]string{"fsck", "--json", "--data", data}, args...)...)
	cmd.Env = append(withoutPrefix(os.Environ(), "WHARF_"), env...)
	var stdout, stderrBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderrBuf
	status := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("wharf fsck: %v", err)
		}
		status = ee.ExitCode()
	}
	out, stderr := stdout.Bytes(), stderrBuf.String()
	var rep fsckReport
	if len(out) > 0 {
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("wharf fsck --json wrote no JSON report: %v\n%s\n%s", err, out, stderr)
		}
	}
	return status, rep, stderr
}

// fsckClean runs wharf fsck on data (beside a running server: it only
// reads) and fails the test unless it exits 0 with no problem.
func fsckClean(t *testing.T, data string, args ...string) fsckReport {
	t.Helper()
	status, rep, stderr := runFsck(t, data, args...)
	if status != 0 || len(rep.Problems) > 0 {
		t.Errorf("wharf fsck: exit %d, %d problems: %+v\n%s", status, len(rep.Problems), rep.Problems, stderr)
	}
	t.Logf("wharf fsck: %d blobs (%d bytes, every byte hashed), %d manifests, %d tags in %.2fs; %d orphan blobs (%d bytes) for GC",
		rep.Blobs, rep.Bytes, rep.Manifests, rep.Tags, rep.Seconds, len(rep.Orphans), rep.OrphanBytes)
	if rep.Blobs == 0 {
		t.Error("wharf fsck checked no blob: it proved nothing")
	}
	return rep
}

// blobFile finds the file holding a blob under a data directory.
func blobFile(t *testing.T, data, dgst string) string {
	t.Helper()
	hex := strings.TrimPrefix(dgst, "sha256:")
	var found string
	filepath.WalkDir(filepath.Join(data, "blobs"), func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Name() == hex {
			found = p
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no file for blob %s under %s", dgst, data)
	}
	return found
}

// TestFsckRepairsACorruptLayer corrupts one layer on disk under a real
// server: wharf fsck (beside the server) names it and the tags it breaks,
// --repair is refused while the server runs, and once it is stopped
// quarantines the bytes and untags what cannot be pulled; the other image
// still pulls, and pushing the broken image again heals it.
func TestFsckRepairsACorruptLayer(t *testing.T) {
	w := startWharf(t)
	ctx := testContext(t, 5*time.Minute)
	rng := rand.New(rand.NewPCG(19, 19))
	shared := sharedLayers(t, 19)
	broken, err := crashImage(rng, shared[:1])
	if err != nil {
		t.Fatal(err)
	}
	whole, err := crashImage(rng, shared[1:2])
	if err != nil {
		t.Fatal(err)
	}
	push := func(img v1.Image, tags ...string) {
		t.Helper()
		for _, tag := range tags {
			if err := remote.Write(ref(t, w, "fsck/app:"+tag), img, remoteOpts(ctx)...); err != nil {
				t.Fatalf("push fsck/app:%s: %v", tag, err)
			}
		}
	}
	push(broken, "v1", "latest")
	push(whole, "whole")
	fsckClean(t, w.DataDir())

	layer := mustDigest(t, shared[0]).String()
	path := blobFile(t, w.DataDir(), layer)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}

	status, rep, stderr := runFsck(t, w.DataDir())
	wantTags := []string{"fsck/app:latest", "fsck/app:v1"}
	if status != 1 || len(rep.Problems) != 1 || rep.Problems[0].Kind != "blob-digest" || rep.Problems[0].Digest != layer ||
		!slices.Equal(rep.Problems[0].Tags, wantTags) {
		t.Fatalf("fsck of a corrupt layer: exit %d, %+v; want exit 1 and blob-digest %s breaking %v\n%s", status, rep.Problems, layer, wantTags, stderr)
	}
	status, out := runWharf(t, "fsck", "--data", w.DataDir())
	if status != 1 || !strings.Contains(out, "tags that cannot be pulled: fsck/app:latest, fsck/app:v1") ||
		!strings.Contains(out, "wharf fsck --repair quarantines") {
		t.Errorf("fsck's text report: exit %d\n%s", status, out)
	}
	if status, out := runWharf(t, "fsck", "--repair", "--data", w.DataDir()); status != 1 || !strings.Contains(out, "stop wharf serve first") {
		t.Errorf("fsck --repair beside a running server: exit %d, want it refused\n%s", status, out)
	}

	w.Stop()
	status, rep, stderr = runFsck(t, w.DataDir(), "--repair")
	if status != 1 || !slices.Equal(rep.Untagged, wantTags) || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Repair, "quarantine") {
		t.Fatalf("fsck --repair: exit %d, untagged %v, %+v\n%s", status, rep.Untagged, rep.Problems, stderr)
	}
	if q, err := os.ReadFile(filepath.Join(w.DataDir(), "quarantine", "sha256", strings.TrimPrefix(layer, "sha256:"))); err != nil || !bytes.Equal(q, b) {
		t.Errorf("the quarantined bytes: %v; want the corrupt bytes kept", err)
	}
	w.Restart()
	if _, err := remote.Image(ref(t, w, "fsck/app:v1"), remoteOpts(ctx)...); err == nil {
		t.Error("fsck/app:v1 still resolves after --repair untagged it")
	}
	img, err := remote.Image(ref(t, w, "fsck/app:whole"), remoteOpts(ctx)...)
	if err == nil {
		err = validate.Image(img)
	}
	if err != nil {
		t.Errorf("the image that did not need the corrupt layer: %v", err)
	}

	push(broken, "v1")
	img, err = remote.Image(ref(t, w, "fsck/app:v1"), remoteOpts(ctx)...)
	if err == nil {
		err = validate.Image(img)
	}
	if err != nil {
		t.Errorf("pushed again after the repair: %v", err)
	}
	fsckClean(t, w.DataDir())
}
