package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"wharf/e2e/harness"
	"wharf/internal/testserver"
)

// bucketBlob is the file of the versitygw posix backend that holds blob
// hex under s3Config's prefix.
func bucketBlob(g *testserver.VersityGW, hex string) string {
	return filepath.Join(g.Dir, s3Bucket, "wharf", "blobs", "sha256", hex[:2], hex)
}

// pulls checks that ref pulls whole from w.
func pulls(t *testing.T, w *harness.Wharf, repoTag string) error {
	t.Helper()
	ctx := testContext(t, time.Minute)
	img, err := remote.Image(ref(t, w, repoTag), remoteOpts(ctx)...)
	if err == nil {
		err = validate.Image(img)
	}
	return err
}

// pushRandom pushes a random image of layers layers of 1 MiB to r.
func pushRandom(t *testing.T, r name.Reference, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(1<<20, layers)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remoteOpts(testContext(t, 2*time.Minute))...); err != nil {
		t.Fatalf("push %s: %v", r, err)
	}
	return img
}

// TestS3FsckRepair corrupts a layer in the bucket under wharf on S3:
// wharf fsck --repair (once the server is stopped) copies the corrupt bytes
// into the data directory's quarantine/, deletes the object from the
// bucket and untags the image that needed it; the other image still
// pulls, pushing the broken image again heals it, and fsck then finds
// nothing wrong.
func TestS3FsckRepair(t *testing.T) {
	harness.SkipIfShort(t)
	g := testserver.StartVersityGW(t, s3Bucket)
	cfg := s3Config(t, g, g.Endpoint, "")
	w := startWharf(t, "--config", cfg)
	ctx := testContext(t, 3*time.Minute)
	broken := pushRandom(t, ref(t, w, "s3/repair:broken"), 1)
	pushRandom(t, ref(t, w, "s3/repair:whole"), 1)
	layers, _ := broken.Layers()
	ld, _ := layers[0].Digest()
	path := bucketBlob(g, ld.Hex)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}

	w.Stop()
	status, rep, stderr := runFsck(t, w.DataDir(), "--config", cfg, "--repair")
	want := []string{"s3/repair:broken"}
	if status != 1 || !slices.Equal(rep.Untagged, want) || len(rep.Problems) != 1 || rep.Problems[0].Digest != ld.String() ||
		!strings.Contains(rep.Problems[0].Repair, "quarantine") {
		t.Fatalf("fsck --repair on S3: exit %d, untagged %v, %+v; want %s quarantined and %v untagged\n%s",
			status, rep.Untagged, rep.Problems, ld, want, stderr)
	}
	if q, err := os.ReadFile(filepath.Join(w.DataDir(), "quarantine", "sha256", ld.Hex)); err != nil || !bytes.Equal(q, b) {
		t.Errorf("the quarantined bytes: %v; want the corrupt bytes kept", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the corrupt object is still in the bucket: %v", err)
	}

	w.Restart()
	if err := pulls(t, w, "s3/repair:broken"); err == nil {
		t.Error("s3/repair:broken still pulls after --repair untagged it")
	}
	if err := pulls(t, w, "s3/repair:whole"); err != nil {
		t.Errorf("the image that did not need the corrupt layer: %v", err)
	}
	if err := remote.Write(ref(t, w, "s3/repair:broken"), broken, remoteOpts(ctx)...); err != nil {
		t.Fatalf("push again after the repair: %v", err)
	}
	if err := pulls(t, w, "s3/repair:broken"); err != nil {
		t.Errorf("pulled after pushing again: %v", err)
	}
	if got, err := os.ReadFile(path); err != nil || bytes.Equal(got, b) {
		t.Errorf("the layer's object after pushing again: %v; want the good bytes back in the bucket", err)
	}
	if rep := fsckClean(t, w.DataDir(), "--config", cfg); rep.Blobs != 4 {
		t.Errorf("fsck after the repair hashed %d blobs, want 4 (two layers, two configs)", rep.Blobs)
	}
}

// TestS3ImportRegistry2 imports a registry:2 filesystem tree into a wharf
// whose blobs are on S3: the blobs land in the bucket (none in the data
// directory), and wharf serve on the same configuration serves the images
// distribution served.
func TestS3ImportRegistry2(t *testing.T) {
	harness.SkipIfShort(t)
	root := filepath.Join(t.TempDir(), "registry")
	dist := harness.StartDistribution(t, `version: 0.1
storage:
  filesystem:
    rootdirectory: "`+root+`"
http:
  addr: "{{ADDR}}"
`)
	ctx := testContext(t, 3*time.Minute)
	imgs := map[string]v1.Image{}
	for _, tag := range []string{"team/app:1", "team/app:2", "other/tool:latest"} {
		r, err := name.ParseReference(dist.Addr+"/"+tag, name.Insecure, name.StrictValidation)
		if err != nil {
			t.Fatal(err)
		}
		imgs[tag] = pushRandom(t, r, 2)
	}
	dist.Stop()

	g := testserver.StartVersityGW(t, s3Bucket)
	cfg := s3Config(t, g, g.Endpoint, "")
	data := filepath.Join(t.TempDir(), "wharf-data")
	out, err := runWharfEnv(ctx, wharfCLI{t: t}.env(), harness.WharfBinary(t), "import", root, "--data", data, "--config", cfg)
	if err != nil {
		t.Fatalf("wharf import into S3: %v\n%s", err, out)
	}
	for _, want := range []string{"repositories  2", "tags          3", "problems      0"} {
		if !strings.Contains(out, want) {
			t.Errorf("the import's summary lacks %q:\n%s", want, out)
		}
	}
	w := harness.StartWharfCommand(t, nil, "serve", "--config", cfg, "--data", data, "--addr", "127.0.0.1:0", "--auth", "none", "--tls", "off")
	t.Cleanup(httpClient.CloseIdleConnections)
	// Three images of two layers and a config each.
	if n := s3Objects(t, g, w); n != 9 {
		t.Errorf("%d blobs in the bucket after the import, want 9", n)
	}
	for tag, img := range imgs {
		got, err := remote.Image(ref(t, w, tag), remoteOpts(ctx)...)
		if err == nil {
			err = validate.Image(got)
		}
		if err != nil {
			t.Errorf("pull %s from wharf on S3: %v", tag, err)
			continue
		}
		gd, _ := got.Digest()
		wd, _ := img.Digest()
		if gd != wd {
			t.Errorf("%s: digest %s from wharf, %s pushed to distribution", tag, gd, wd)
		}
	}
	fsckClean(t, data, "--config", cfg)
}
