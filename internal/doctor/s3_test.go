package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wharf/internal/auth"
	"wharf/internal/config"
	"wharf/internal/testserver"
)

// TestS3 runs the S3 checks against a real S3 server (versitygw): a sound
// bucket passes every step and leaves no object behind; a wrong secret
// key and a missing bucket each fail at the first step, naming the fix;
// a redirectendpoint nobody answers at fails the presigned URL step.
func TestS3(t *testing.T) {
	t.Parallel()
	g := testserver.StartVersityGW(t, "registry")
	dead := testserver.StartS3Outage(t, g.Endpoint)
	dead.Close() // an address where nothing answers
	cfg := func(edit func(*config.S3)) Setup {
		c := config.Default()
		c.Data = t.TempDir()
		c.Storage.S3 = &config.S3{Bucket: "registry", Region: g.Region, RegionEndpoint: g.Endpoint, ForcePathStyle: true,
			AccessKey: g.AccessKey, SecretKey: auth.Secret(g.SecretKey), RootDirectory: "/wharf"}
		edit(c.Storage.S3)
		return Setup{Serve: &c}
	}
	for _, tc := range []struct {
		name     string
		setup    Setup
		wantFail string // the check that fails; "" for none
		wantFix  string
	}{
		{"sound", cfg(func(*config.S3) {}), "", ""},
		{"wrong secret key", cfg(func(s *config.S3) { s.SecretKey = "not-the-key" }), "S3 bucket", "S3 refuses the credentials"},
		{"missing bucket", cfg(func(s *config.S3) { s.Bucket = "nobucket" }), "S3 bucket", `create the bucket "nobucket"`},
		{"unreachable", cfg(func(s *config.S3) { s.RegionEndpoint = dead.URL }), "S3 bucket", "that this host can reach it"},
		{"public address unreachable", cfg(func(s *config.S3) { s.RedirectEndpoint = dead.URL }), "S3 presigned URL", "redirectendpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &Report{}
			checkS3(t.Context(), r, tc.setup)
			var out strings.Builder
			r.Print(&out)
			t.Logf("\n%s", out.String())
			if strings.Contains(out.String(), g.SecretKey) || strings.Contains(out.String(), "X-Amz-Signature") {
				t.Error("the report shows the secret key or a signature")
			}
			var failed []Result
			for _, res := range r.Results {
				if res.Status == Fail {
					failed = append(failed, res)
				}
			}
			if tc.wantFail == "" {
				if len(failed) != 0 || len(find(r, "S3 ")) != 5 {
					t.Errorf("a sound bucket: %d failures, %d S3 checks; want 0 and 5 (bucket, clock, write and read, presigned URL, delete)",
						len(failed), len(find(r, "S3 ")))
				}
				return
			}
			if len(failed) != 1 || failed[0].Check != tc.wantFail || !strings.Contains(failed[0].Fix, tc.wantFix) {
				t.Errorf("failures %+v; want %s with a fix naming %q", failed, tc.wantFail, tc.wantFix)
			}
		})
	}
	// Nothing left in the bucket: the probes were removed.
	entries, err := os.ReadDir(filepath.Join(g.Dir, "registry", "wharf", "probe"))
	if err == nil && len(entries) != 0 {
		t.Errorf("%d probe objects left in the bucket", len(entries))
	}
}
