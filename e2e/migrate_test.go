package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
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

	"wharf/e2e/harness"
	"wharf/internal/datadir"
)

// storageReport is what the tests read of wharf migrate-storage --json.
type storageReport struct {
	Blobs         int64 `json:"blobs"`
	Bytes         int64 `json:"bytes"`
	Copied        int64 `json:"copied"`
	Present       int64 `json:"present"`
	Replaced      int64 `json:"replaced"`
	Resumed       int64 `json:"resumed"`
	ResumedBytes  int64 `json:"resumed_bytes"`
	Failed        []any `json:"failed"`
	StagedUploads int   `json:"staged_uploads"`
}

// committedBlobs lists the blob files of a filesystem storage root by
// digest, with their sha256 checked against the name: a file whose bytes
// are not its name is reported as a test error.
func committedBlobs(t *testing.T, root string, verify bool) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	dir := filepath.Join(root, "blobs", "sha256")
	prefixes, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prefixes {
		files, err := os.ReadDir(filepath.Join(dir, p.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			out[f.Name()] = true
			if !verify {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, p.Name(), f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.Name() {
				t.Errorf("blob %s holds bytes that hash to %x", f.Name(), sum)
			}
		}
	}
	return out
}

// TestMigrateStorageKill9Resume fills a registry by pushing images, copies
// its storage with wharf migrate-storage and kills the copy with SIGKILL
// once a few blobs have landed, then runs the same command again. The
// resumed run skips what the killed one committed (after hashing it),
// copies the rest, and leaves nothing staged; a wharf serving the copied
// storage then serves every image.
func TestMigrateStorageKill9Resume(t *testing.T) {
	harness.SkipIfShort(t)
	t.Parallel()
	images, oldData, source := filledStorage(t)
	newData := datadir.New(t.TempDir())
	args := []string{"migrate-storage", "--from", "filesystem:" + oldData.Blobs(), "--to", "filesystem:" + newData.Blobs(), "--jobs", "2", "--json"}
	env := withoutPrefix(os.Environ(), "WHARF_")
	copied := func(verify bool) map[string]bool { return committedBlobs(t, newData.Blobs(), verify) }
	migrateKilledAndResumed(t, env, args, source, copied)
	staged, err := os.ReadDir(filepath.Join(newData.Blobs(), "uploads"))
	if err != nil || len(staged) != 0 {
		t.Errorf("the destination keeps staged uploads %v (%v): the killed run's staged copy was not dropped", staged, err)
	}

	// The copied storage serves, with the database of the old data
	// directory beside it (wharf migrate-db moves a database elsewhere).
	copyFile(t, oldData.Database(), newData.Database())
	w2 := harness.StartWharfCommand(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", newData.Root(), "--auth", "none", "--tls", "off")
	pullsEvery(t, w2, images)
}

// filledStorage pushes four images of eight 2 MiB layers into a wharf on
// its filesystem storage, stops it, and returns the images, its data
// directory and the blobs its storage holds.
func filledStorage(t *testing.T) (map[string]v1.Image, datadir.Dir, map[string]bool) {
	t.Helper()
	ctx := testContext(t, 5*time.Minute)
	w := harness.StartWharf(t)
	images := map[string]v1.Image{}
	for _, r := range []string{"team/a:1", "team/b:1", "team/c:1", "team/d:1"} {
		img, err := random.Image(2<<20, 8)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref(t, w, r), img, remoteOpts(ctx)...); err != nil {
			t.Fatalf("push %s: %v\n%s", r, err, w.Log())
		}
		images[r] = img
	}
	w.Stop()
	data := datadir.New(w.DataDir())
	source := committedBlobs(t, data.Blobs(), false)
	if len(source) < 36 { // 4 × (8 layers + a config)
		t.Fatalf("the source holds %d blobs, want at least 36", len(source))
	}
	return images, data, source
}

// migrateKilledAndResumed runs wharf migrate-storage args, kills it with
// SIGKILL once copied (the destination's committed blobs, hashed when
// asked) holds three, and runs it again. The resumed run must copy the
// rest and skip what the killed one committed, the destination must then
// hold exactly source, each blob with its bytes, and a third run must copy
// nothing.
func migrateKilledAndResumed(t *testing.T, env, args []string, source map[string]bool, copied func(verify bool) map[string]bool) {
	t.Helper()
	first := exec.Command(harness.WharfBinary(t), args...)
	first.Env = env
	logFile, err := os.Create(filepath.Join(t.TempDir(), "first.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	first.Stdout, first.Stderr = logFile, logFile
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for len(copied(false)) < 3 {
		select {
		case err := <-exited:
			t.Fatalf("the copy ended (%v) before it could be killed:\n%s", err, readFile(t, logFile.Name()))
		default:
		}
		if time.Now().After(deadline) {
			_ = first.Process.Kill()
			t.Fatalf("no blob copied after 2 minutes:\n%s", readFile(t, logFile.Name()))
		}
		time.Sleep(time.Millisecond)
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	atKill := copied(true)
	if len(atKill) >= len(source) {
		t.Fatalf("the copy had finished (%d of %d blobs) before it was killed: the test did not interrupt it", len(atKill), len(source))
	}
	t.Logf("killed with %d of %d blobs committed", len(atKill), len(source))

	second := exec.Command(harness.WharfBinary(t), args...)
	second.Env = env
	var stdout, stderr bytes.Buffer
	second.Stdout, second.Stderr = &stdout, &stderr
	if err := second.Run(); err != nil {
		t.Fatalf("resumed run: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	var rep storageReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("resumed run's report: %v\n%s", err, stdout.String())
	}
	if rep.Blobs != int64(len(source)) || rep.Present+rep.Copied != rep.Blobs || rep.Present < int64(len(atKill)) ||
		rep.Copied == 0 || len(rep.Failed) != 0 {
		t.Errorf("resumed run: %+v; want %d blobs, at least %d present, the rest copied", rep, len(source), len(atKill))
	}
	t.Logf("resumed run: %d copied (%d went on from %d staged bytes), %d present", rep.Copied, rep.Resumed, rep.ResumedBytes, rep.Present)
	after := copied(true)
	for d := range source {
		if !after[d] {
			t.Errorf("blob %s missing at the destination", d)
		}
	}
	if len(after) != len(source) {
		t.Errorf("the destination holds %d blobs, the source %d", len(after), len(source))
	}

	third := exec.Command(harness.WharfBinary(t), args...)
	third.Env = env
	out, err := third.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"copied": 0`) {
		t.Errorf("third run: %v\n%s", err, out)
	}
}

// pullsEvery pulls every image from w and checks each is the image pushed.
func pullsEvery(t *testing.T, w *harness.Wharf, images map[string]v1.Image) {
	t.Helper()
	ctx := testContext(t, 2*time.Minute)
	for r, img := range images {
		got, err := remote.Image(ref(t, w, r), remoteOpts(ctx)...)
		if err != nil {
			t.Fatalf("pull %s: %v\n%s", r, err, w.Log())
		}
		if err := validate.Image(got); err != nil {
			t.Errorf("pull %s: %v", r, err)
		}
		want, _ := img.Digest()
		if d, _ := got.Digest(); d != want {
			t.Errorf("pull %s: digest %s, want %s", r, d, want)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
