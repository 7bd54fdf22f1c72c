package e2e

import (
	"strings"
	"testing"

	"wharf/e2e/harness"
	"wharf/internal/testserver"
)

// TestS3Doctor runs `wharf doctor --config` on wharf.yml files with
// storage.s3: a sound bucket passes the S3 steps and exits 0; a bucket that
// does not exist fails with exit 1 and the fix, and the secret key is
// never printed.
func TestS3Doctor(t *testing.T) {
	harness.SkipIfShort(t)
	g := testserver.StartVersityGW(t, s3Bucket)
	for _, tc := range []struct {
		name, bucket string
		status       int
		want         []string
	}{
		{"sound", s3Bucket, 0, []string{"ok    S3 bucket: s3://registry/wharf/", "ok    S3 write and read", "ok    S3 presigned URL", "ok    S3 delete"}},
		{"missing bucket", "nobucket", 1, []string{`FAIL  S3 bucket: s3://nobucket/wharf/: S3 answers 404`, `fix: create the bucket "nobucket"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := s3Config(t, g, g.Endpoint, "")
			body := strings.Replace(readFile(t, cfg), "bucket: "+s3Bucket, "bucket: "+tc.bucket, 1)
			cfg = writeConfig(t, t.TempDir(), body+"data: "+t.TempDir()+"\n")
			status, out := runWharf(t, "doctor", "--config", cfg)
			t.Logf("wharf doctor:\n%s", out)
			if status != tc.status {
				t.Errorf("wharf doctor: exit %d, want %d\n%s", status, tc.status, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("wharf doctor's report lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, g.SecretKey) {
				t.Error("wharf doctor printed the secret key")
			}
		})
	}
}
