package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"wharf/e2e/harness"
	"wharf/internal/datadir"
	"wharf/internal/testserver"
)

// TestMigrateStorageS3Kill9Resume moves a registry's filesystem storage
// into a bucket of a real S3 server (versitygw) with wharf migrate-storage,
// credentials from the AWS variables, killing the copy with SIGKILL once a
// few blobs have landed and running it again: every blob is in the bucket
// once, with its bytes, nothing stays staged, and wharf serve configured
// with that bucket serves every image. The bucket is then copied back to a
// filesystem storage, which holds the same blobs.
func TestMigrateStorageS3Kill9Resume(t *testing.T) {
	harness.SkipIfShort(t)
	t.Parallel()
	images, oldData, source := filledStorage(t)
	g := testserver.StartVersityGW(t, s3Bucket)
	// versitygw's posix backend keeps each object as a file named by its
	// key: the bucket's blobs can be counted and hashed on disk.
	prefix := filepath.Join(g.Dir, s3Bucket, "wharf")
	env := append(withoutPrefix(os.Environ(), "WHARF_"), "AWS_ACCESS_KEY_ID="+g.AccessKey, "AWS_SECRET_ACCESS_KEY="+g.SecretKey,
		"AWS_REGION="+g.Region, "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
	bucket := "s3:" + s3Bucket + "/wharf?endpoint=" + g.Endpoint
	args := []string{"migrate-storage", "--from", "filesystem:" + oldData.Blobs(), "--to", bucket, "--jobs", "2", "--json"}
	copied := func(verify bool) map[string]bool { return committedBlobs(t, prefix, verify) }
	migrateKilledAndResumed(t, env, args, source, copied)
	if n := countFiles(t, filepath.Join(prefix, "blobs")); n != len(source) {
		t.Errorf("the bucket holds %d objects under blobs/, want %d: something was stored twice", n, len(source))
	}
	if n := countFiles(t, filepath.Join(prefix, "uploads")); n != 0 {
		t.Errorf("the bucket keeps %d upload states: the killed run's staged copy was not dropped", n)
	}

	// wharf serve on the bucket, with the old data directory's database.
	newData := datadir.New(t.TempDir())
	copyFile(t, oldData.Database(), newData.Database())
	cfg := s3Config(t, g, g.Endpoint, "")
	w := harness.StartWharfCommand(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", newData.Root(), "--auth", "none",
		"--tls", "off", "--config", cfg)
	pullsEvery(t, w, images)
	if n := countFiles(t, newData.Blobs()); n != 0 {
		t.Errorf("wharf serve on the bucket has %d blob files in its data directory", n)
	}

	// And back to a filesystem storage.
	back := filepath.Join(t.TempDir(), "blobs")
	out, err := runWharfEnv(testContext(t, 2*time.Minute), env, harness.WharfBinary(t), "migrate-storage", "--from", bucket, "--to", "filesystem:"+back, "--json")
	if err != nil {
		t.Fatalf("s3 → filesystem: %v\n%s", err, out)
	}
	got := committedBlobs(t, back, true)
	for d := range source {
		if !got[d] {
			t.Errorf("blob %s did not come back from the bucket", d)
		}
	}
	if len(got) != len(source) {
		t.Errorf("back from the bucket: %d blobs, want %d", len(got), len(source))
	}
}

// countFiles counts the regular files under dir (0 when it does not exist).
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return filepath.SkipDir
		}
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
