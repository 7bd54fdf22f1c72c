package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"wharf/e2e/harness"
	"wharf/internal/testserver"
)

// fillDisk writes a file until the disk has no room left but leave bytes,
// and returns it: the other data a registry's disk may hold (logs, another
// service's files), which the registry cannot free.
func fillDisk(t *testing.T, disk, name string, leave int64) string {
	t.Helper()
	filler := filepath.Join(disk, name)
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	for { // the last pages
		if _, err := f.Write(chunk[:512]); err != nil {
			break
		}
	}
	if leave > 0 {
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(max(0, fi.Size()-leave)); err != nil {
			t.Fatal(err)
		}
	}
	return filler
}

// freeBytes is what statfs says is available on disk.
func freeBytes(t *testing.T, disk string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(disk, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// TestFullDisk runs wharf serve with its data directory on a 64 MiB tmpfs
// and fills the disk with pushes: the push that does not fit, and a chunk
// that does not, fail with 507
// and the message naming the fix; the log names the disk and its free
// space; the upload keeps its acknowledged bytes; nothing of the failed
// push is visible; earlier images still pull; wharf fsck is clean. Then
// space is freed the way an operator frees it, with the disk still full:
// wharf repo rm and wharf tag rm delete images, wharf gc collects their
// blobs beside the running server; the upload resumes, pushes succeed
// again, and what was not deleted still pulls.
func TestFullDisk(t *testing.T) {
	harness.SkipIfShort(t)
	disk := testserver.SmallDisk(t, "64m")
	data := filepath.Join(disk, "data")
	// Collections only when asked (wharf gc), of what was deleted more
	// than a second ago.
	cfg := writeConfig(t, t.TempDir(), "gc:\n  interval: 0\n  grace: 1s\n")
	w := harness.StartWharfCommand(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", data, "--auth", "none", "--tls", "off", "--config", cfg)
	ctx := testContext(t, 5*time.Minute)
	rng := rand.New(rand.NewPCG(64, 64))
	shared := sharedLayers(t, 64)
	push := func(repoTag string) (v1.Image, error) {
		img, err := crashImage(rng, shared)
		if err != nil {
			t.Fatal(err)
		}
		return img, remote.Write(ref(t, w, repoTag), img, remoteOpts(ctx)...)
	}
	var kept, deleted []string // repo:tag
	for i := range 3 {
		tag := fmt.Sprint("full/app:before-", i)
		img, err := push(tag)
		if err != nil {
			t.Fatalf("push %s on an empty disk: %v", tag, err)
		}
		if i == 0 {
			kept = append(kept, tag)
		} else {
			deleted = append(deleted, tag+"@"+mustDigest(t, img).String())
		}
	}

	// An upload with 1 MiB acknowledged before the disk fills.
	first, second := bytes.Repeat([]byte("1"), 1<<20), bytes.Repeat([]byte("2"), 2<<20)
	r := do(t, http.MethodPost, w.URL()+"/v2/full/chunked/blobs/uploads/", nil)
	if r.Status != http.StatusAccepted {
		t.Fatalf("start an upload: %v", r)
	}
	loc := w.URL() + r.Header.Get("Location")
	if r = do(t, http.MethodPatch, loc, bytes.NewReader(first), "Content-Type", "application/octet-stream"); r.Status != http.StatusAccepted {
		t.Fatalf("first chunk: %v", r)
	}
	loc = w.URL() + r.Header.Get("Location")

	// Pushes fill the last 24 MiB until one fails.
	fillDisk(t, disk, "filler", 24<<20)
	var (
		err    error
		pushed int
		img    v1.Image
	)
	for pushed = 0; pushed < 20; pushed++ {
		tag := fmt.Sprint("full/fill:", pushed)
		if img, err = push(tag); err != nil {
			break
		}
		deleted = append(deleted, tag+"@"+mustDigest(t, img).String())
	}
	t.Logf("%d pushes fitted in the last 24 MiB; the next one failed with: %v", pushed, err)
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusInsufficientStorage || !strings.Contains(err.Error(), "storage is full") {
		t.Fatalf("push on a full disk: %v; want a 507 naming the full storage", err)
	}
	if r = do(t, http.MethodGet, w.URL()+fmt.Sprintf("/v2/full/fill/manifests/%d", pushed), nil); r.Status != http.StatusNotFound {
		t.Errorf("the failed push's tag: %v; want nothing visible", r)
	}
	// What room the failed push left is taken too, for the chunk below.
	topUp := fillDisk(t, disk, "top-up", 0)
	r = do(t, http.MethodPatch, loc, bytes.NewReader(second), "Content-Type", "application/octet-stream",
		"Content-Range", fmt.Sprintf("%d-%d", len(first), len(first)+len(second)-1))
	if r.Status != http.StatusInsufficientStorage || !strings.Contains(string(r.Body), "storage is full") {
		t.Errorf("a chunk on a full disk: %v; want 507 naming the full storage", r)
	}
	if r = do(t, http.MethodGet, loc, nil); r.Status != http.StatusNoContent || r.Header.Get("Range") != fmt.Sprintf("0-%d", len(first)-1) {
		t.Errorf("the upload after the failed chunk: %v; want it resumable at %d bytes", r, len(first))
	}

	_, err = push("full/app:on-a-full-disk")
	if !errors.As(err, &te) || te.StatusCode != http.StatusInsufficientStorage {
		t.Errorf("push on a full disk: %v; want a 507", err)
	}
	if !strings.Contains(w.Log(), "no space left") || !strings.Contains(w.Log(), "tmpfs filesystem mounted at "+disk) ||
		!strings.Contains(w.Log(), "free of 64.0 MiB") {
		t.Errorf("the server's log does not name the full disk and its free space")
	}
	for _, line := range strings.Split(w.Log(), "\n") {
		if strings.Contains(line, "no space left") {
			t.Logf("server log: %s", line)
			break
		}
	}
	if r = do(t, http.MethodGet, w.URL()+"/v2/full/app/manifests/on-a-full-disk", nil); r.Status != http.StatusNotFound {
		t.Errorf("the failed push's tag: %v; want nothing visible", r)
	}
	pullAll := func(when string, repoTags []string) {
		t.Helper()
		for _, rt := range repoTags {
			rt, _, _ = strings.Cut(rt, "@")
			img, err := remote.Image(ref(t, w, rt), remoteOpts(ctx)...)
			if err == nil {
				err = validate.Image(img)
			}
			if err != nil {
				t.Errorf("pull %s %s: %v", rt, when, err)
			}
		}
	}
	pullAll("on a full disk", append(append([]string(nil), kept...), deleted...))
	fsckClean(t, data)

	// On a disk full to the last byte the database cannot record a
	// delete: the command says so, and what to do, and nothing changes.
	cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: data}
	if out, err := cli.try("", "repo", "rm", "full/fill", "--yes", "--config", cfg); err == nil ||
		!strings.Contains(err.Error(), "the database's disk is full") || !strings.Contains(err.Error(), "free some space on its disk") {
		t.Errorf("wharf repo rm on a disk full to the last byte: %v\n%s; want it refused, naming the full disk and the fix", err, out)
	}
	// The other program's file goes; what the registry's pushes filled
	// stays full, and only deleting images frees it.
	if err := os.Remove(topUp); err != nil {
		t.Fatal(err)
	}
	full := freeBytes(t, disk)
	cli.run("", "repo", "rm", "full/fill", "--yes", "--config", cfg)
	cli.run("", "tag", "rm", "full/app:before-1", "full/app:before-2", "--config", cfg)
	time.Sleep(1100 * time.Millisecond) // past gc.grace since the tags went
	var res struct {
		ManifestsDeleted int   `json:"manifests_deleted"`
		BlobsDeleted     int   `json:"blobs_deleted"`
		BytesFreed       int64 `json:"bytes_freed"`
	}
	out := cli.run("", "gc", "--delete-untagged", "--json", "--config", cfg)
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("wharf gc --json printed %q: %v", out, err)
	}
	freed := freeBytes(t, disk) - full
	t.Logf("wharf gc beside the server: %d untagged manifests, %d blobs, %d bytes freed; the disk had %d bytes free before the deletes, %d after",
		res.ManifestsDeleted, res.BlobsDeleted, res.BytesFreed, full, full+freed)
	if res.ManifestsDeleted != 2 || res.BlobsDeleted == 0 || res.BytesFreed < 8<<20 || freed < 8<<20 {
		t.Errorf("wharf gc after the deletes: %+v, %d bytes more free on the disk; want the 2 untagged manifests and the deleted images' blobs freed", res, freed)
	}
	for _, rd := range deleted {
		repoTag, dgst, _ := strings.Cut(rd, "@")
		repo, tag, _ := strings.Cut(repoTag, ":")
		for _, ref := range []string{tag, dgst} {
			if r := do(t, http.MethodGet, w.URL()+"/v2/"+repo+"/manifests/"+ref, nil); r.Status != http.StatusNotFound {
				t.Errorf("deleted %s:%s after gc: %v; want 404", repo, ref, r)
			}
		}
	}

	if r = do(t, http.MethodPatch, loc, bytes.NewReader(second), "Content-Type", "application/octet-stream",
		"Content-Range", fmt.Sprintf("%d-%d", len(first), len(first)+len(second)-1)); r.Status != http.StatusAccepted {
		t.Fatalf("the chunk again once space is freed: %v", r)
	}
	sum := sha256.Sum256(append(append([]byte(nil), first...), second...))
	dgst := "sha256:" + hex.EncodeToString(sum[:])
	put, err := url.Parse(w.URL() + r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := put.Query()
	q.Set("digest", dgst)
	put.RawQuery = q.Encode()
	if r = do(t, http.MethodPut, put.String(), nil); r.Status != http.StatusCreated {
		t.Errorf("finish the resumed upload: %v", r)
	}
	stored := int64(len(first) + len(second))
	for i := range 3 {
		tag := fmt.Sprint("full/app:after-", i)
		img, err := push(tag)
		if err != nil {
			t.Errorf("push once space is freed: %v", err)
		}
		kept = append(kept, tag)
		_, size := ownBlobs(t, img)
		stored += size
	}
	// What was stored since needed the room the collection freed.
	if stored <= full {
		t.Errorf("%d bytes stored after the collection, %d were free before it: the test shows nothing; push more", stored, full)
	}
	pullAll("once space is freed", kept)
	rep := fsckClean(t, data)
	t.Logf("after space was freed: %d blobs, %d manifests", rep.Blobs, rep.Manifests)
}

// fillByPushes pushes single-layer images to repo, of 1 MiB then of
// 64 KiB, each size until the registry refuses one for want of space: the
// disk is then full as far as uploads may fill it. It returns how many
// were stored.
func fillByPushes(t *testing.T, w *harness.Wharf, ctx context.Context, repo string) int {
	t.Helper()
	n := 0
	for _, size := range []int64{1 << 20, 64 << 10} {
		for ; ; n++ {
			img, err := random.Image(size, 1)
			if err != nil {
				t.Fatal(err)
			}
			err = remote.Write(ref(t, w, fmt.Sprint(repo, ":", n)), img, remoteOpts(ctx)...)
			var te *transport.Error
			if errors.As(err, &te) && te.StatusCode == http.StatusInsufficientStorage {
				break
			}
			if err != nil {
				t.Fatalf("filling the disk: push %d: %v", n, err)
			}
			if n == 1000 {
				t.Fatal("1000 pushes did not fill the disk")
			}
		}
	}
	return n
}

// TestFullDiskDocker pushes with the real docker client to a wharf whose
// disk pushes have filled: the push fails and docker names the problem.
// docker reads no error body on a 5xx (distribution's client prints the
// status line only), so the status's own words, 507 Insufficient Storage,
// are what its user sees; distribution's 500 would read "Internal Server
// Error". docker retries an upload five times (about 50 s) whatever the
// 5xx: printed, not asserted. Deleting the repository that filled the disk
// and wharf gc beside the server make room for docker's push.
func TestFullDiskDocker(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	d := harness.StartDockerd(t)
	disk := testserver.SmallDisk(t, "16m")
	data := filepath.Join(disk, "data")
	cfg := writeConfig(t, t.TempDir(), "gc:\n  interval: 0\n  grace: 1s\n")
	w := harness.StartWharfCommand(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", data, "--auth", "none", "--tls", "off", "--config", cfg)
	img := w.Addr() + "/full/busybox:1"
	d.Run("import", "--change", `CMD ["/bin/sh"]`, rootfs, img)

	filled := fillByPushes(t, w, testContext(t, 5*time.Minute), "full/filler")
	start := time.Now()
	out, err := d.TryRun(nil, "push", img)
	took := time.Since(start)
	t.Logf("docker push to a disk %d pushes filled (%d bytes free), %v:\n%s", filled, freeBytes(t, disk), took.Round(time.Millisecond), out)
	if err == nil || !strings.Contains(out, "507 Insufficient Storage") {
		t.Errorf("docker push to a full disk: %v; want it to fail naming 507 Insufficient Storage", err)
	}
	cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: data}
	cli.run("", "repo", "rm", "full/filler", "--yes", "--config", cfg)
	time.Sleep(1100 * time.Millisecond) // past gc.grace since the last push
	t.Logf("wharf gc: %s", cli.run("", "gc", "--json", "--config", cfg))
	if out, err := d.TryRun(nil, "push", img); err != nil {
		t.Errorf("docker push once wharf gc freed space: %v\n%s", err, out)
	}
}
