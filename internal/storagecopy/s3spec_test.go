package storagecopy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"wharf/internal/storage/s3"
	"wharf/internal/testserver"
)

// startS3 starts a versitygw with buckets and gives its root key to the
// AWS SDK's standard chain through the environment, as an operator does,
// with no ~/.aws file read.
func startS3(t testing.TB, buckets ...string) *testserver.VersityGW {
	t.Helper()
	g := testserver.StartVersityGW(t, buckets...)
	t.Setenv("AWS_ACCESS_KEY_ID", g.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", g.SecretKey)
	t.Setenv("AWS_REGION", g.Region)
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	return g
}

func TestParseS3(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		arg  string
		want s3.Options
	}{
		{"wharf", s3.Options{Bucket: "wharf"}},
		{"wharf/registry", s3.Options{Bucket: "wharf", Prefix: "registry/"}},
		{"wharf//a/b/", s3.Options{Bucket: "wharf", Prefix: "a/b/"}},
		{"wharf?endpoint=http://127.0.0.1:7070", s3.Options{Bucket: "wharf", Endpoint: "http://127.0.0.1:7070", PathStyle: true}},
		{"wharf/r?endpoint=https://s3.example&pathstyle=false&region=eu-west-3",
			s3.Options{Bucket: "wharf", Prefix: "r/", Endpoint: "https://s3.example", Region: "eu-west-3"}},
		{"wharf?pathstyle=true", s3.Options{Bucket: "wharf", PathStyle: true}},
	} {
		got, err := parseS3(tc.arg)
		if err != nil {
			t.Errorf("parseS3(%q): %v", tc.arg, err)
			continue
		}
		if got != tc.want {
			t.Errorf("parseS3(%q) = %+v, want %+v", tc.arg, got, tc.want)
		}
	}
}

// TestCopyToS3AndBack copies a filesystem storage into a bucket of a real
// S3 server and back into another filesystem storage, with credentials
// from the standard chain's environment variables, as an operator runs
// it: every blob arrives with its bytes, nothing stays staged, and a
// second run copies nothing.
func TestCopyToS3AndBack(t *testing.T) {
	g := startS3(t, "wharf")
	ctx := context.Background()
	spec := "s3:wharf/registry?endpoint=" + g.Endpoint

	src, blobs := source(t, 7)
	dst, err := Open(ctx, spec, Destination)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Copy(ctx, src, dst, Options{Jobs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Copied != 7 || rep.Present != 0 || len(rep.Failed) != 0 {
		t.Errorf("to S3: report %+v, want 7 copied", rep)
	}
	holds(t, dst.Driver, blobs)
	rep, err = Copy(ctx, src, dst, Options{Jobs: 3})
	if err != nil || rep.Copied != 0 || rep.Present != 7 {
		t.Errorf("to S3 again: report %+v (%v), want 7 present, none copied", rep, err)
	}

	// And back, from the bucket as a source.
	from, err := Open(ctx, spec, Source)
	if err != nil {
		t.Fatal(err)
	}
	back := destination(t)
	rep, err = Copy(ctx, from, back, Options{Jobs: 2})
	if err != nil || rep.Copied != 7 || len(rep.Failed) != 0 {
		t.Errorf("from S3: report %+v (%v), want 7 copied", rep, err)
	}
	holds(t, back.Driver, blobs)
}

// TestOpenS3Errors: a bucket that does not exist is ErrAbsent as a source
// and an empty storage for a dry run (which writes nothing to find out); as
// a destination the error says to create it; refused credentials say
// where credentials come from, and never show the secret.
func TestOpenS3Errors(t *testing.T) {
	g := startS3(t, "wharf")
	ctx := context.Background()
	missing := "s3:nope?endpoint=" + g.Endpoint
	if _, err := Open(ctx, missing, Source); !errors.Is(err, ErrAbsent) || !strings.Contains(err.Error(), `bucket "nope" does not exist`) {
		t.Errorf("source in a missing bucket: %v, want ErrAbsent naming the bucket", err)
	}
	if s, err := Open(ctx, missing, Preview); err != nil || s.Driver != (absent{}) {
		t.Errorf("dry run into a missing bucket: %v, %v; want an empty storage", s, err)
	}
	if _, err := Open(ctx, missing, Destination); err == nil || !strings.Contains(err.Error(), `create the bucket "nope"`) {
		t.Errorf("destination in a missing bucket: %v, want it to say to create the bucket", err)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-key")
	_, err := Open(ctx, "s3:wharf?endpoint="+g.Endpoint, Destination)
	if err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") || strings.Contains(err.Error(), "not-the-secret-key") {
		t.Errorf("refused credentials: %v, want the credential chain named and no secret", err)
	}
}
