package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
	"wharf/internal/storage/s3"
	"wharf/internal/storage/storagetest"
	"wharf/internal/testserver"
)

const bucket = "wharf"

// server is one versitygw for the package's tests; every driver gets a
// prefix of its own, so tests share nothing else.
func server(t *testing.T) *testserver.VersityGW {
	t.Helper()
	return testserver.StartVersityGW(t, bucket)
}

func options(g *testserver.VersityGW) s3.Options {
	return s3.Options{
		Bucket: bucket, Region: g.Region, Endpoint: g.Endpoint, PathStyle: true,
		AccessKey: g.AccessKey, SecretKey: g.SecretKey,
		Prefix:   "t-" + rand.Text()[:10] + "/",
		PartSize: s3.MinPartSize,
		// The suite's and these tests' servers answer at once: fail fast.
		MaxAttempts: 2,
	}
}

func newDriver(t testing.TB, opts s3.Options) *s3.Driver {
	t.Helper()
	d, err := s3.New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestConformance(t *testing.T) {
	g := server(t)
	storagetest.Run(t, func(t *testing.T) storage.Driver { return newDriver(t, options(g)) })
}

// TestConformanceWithoutConditionalWrites runs the suite through a proxy
// that refuses conditional writes (501), as S3 servers without them do:
// the driver notices and carries on without them.
func TestConformanceWithoutConditionalWrites(t *testing.T) {
	g := server(t)
	f := testserver.StartS3Outage(t, g.Endpoint)
	f.NoConditions.Store(true)
	opts := options(g)
	opts.Endpoint = f.URL
	// The suite's subtests run in parallel, after this function returns.
	t.Cleanup(func() {
		if f.Refused.Load() == 0 {
			t.Error("no conditional write reached the proxy: the fallback was not exercised")
		}
	})
	storagetest.Run(t, func(t *testing.T) storage.Driver {
		o := opts
		o.Prefix = "t-" + rand.Text()[:10] + "/"
		return newDriver(t, o)
	})
}

// keys lists what the driver left under its prefix.
func keys(t *testing.T, g *testserver.VersityGW, prefix string) []string {
	t.Helper()
	d := rawClient(t, g)
	out, err := d.ListObjectsV2(t.Context(), &awss3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: &prefix})
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, o := range out.Contents {
		ks = append(ks, strings.TrimPrefix(aws.ToString(o.Key), prefix))
	}
	sort.Strings(ks)
	return ks
}

func rawClient(t *testing.T, g *testserver.VersityGW) *awss3.Client {
	return awss3.New(awss3.Options{Region: g.Region, BaseEndpoint: &g.Endpoint, UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: g.AccessKey, SecretAccessKey: g.SecretKey}, nil
		})})
}

// stage writes content into a new upload in one request and returns its
// id.
func stage(t *testing.T, d *s3.Driver, content []byte) string {
	t.Helper()
	id := storagetest.NewID()
	w, err := d.Upload(t.Context(), id, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return id
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestMultipartAcrossProcesses stages a blob larger than two parts in
// requests of odd sizes, each through a driver of its own (another
// process, another replica), and commits it: the bytes come back whole, and
// nothing of the upload is left in the bucket.
func TestMultipartAcrossProcesses(t *testing.T) {
	g := server(t)
	opts := options(g)
	content := random(2*s3.MinPartSize + 3<<20 + 17)
	id := storagetest.NewID()
	var offset int64
	for i, n := range []int{1 << 20, 6 << 20, 100, 4<<20 + 3, len(content)} {
		d := newDriver(t, opts)
		at := offset
		if i == 0 {
			at = -1
		}
		w, err := d.Upload(t.Context(), id, at)
		if err != nil {
			t.Fatalf("request %d: Upload(%d): %v", i, at, err)
		}
		end := min(int(offset)+n, len(content))
		if _, err := w.Write(content[offset:end]); err != nil {
			t.Fatalf("request %d: Write: %v", i, err)
		}
		if end == len(content) {
			if err := w.Commit(t.Context(), digest.SHA256.FromBytes(content)); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			break
		}
		if err := w.Close(); err != nil {
			t.Fatalf("request %d: Close: %v", i, err)
		}
		offset = int64(end)
	}
	d := newDriver(t, opts)
	dgst := digest.SHA256.FromBytes(content)
	if got := storagetest.ReadBlob(t, d, dgst); !bytes.Equal(got, content) {
		t.Fatalf("read %d bytes back, content differs", len(got))
	}
	enc := dgst.Encoded()
	want := []string{"blobs/sha256/" + enc[:2] + "/" + enc}
	if got := keys(t, g, opts.Prefix); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("keys after commit = %v, want only %v", got, want)
	}
	mpus, err := rawClient(t, g).ListMultipartUploads(t.Context(), &awss3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: &opts.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	if len(mpus.Uploads) != 0 {
		t.Errorf("%d multipart uploads left after commit", len(mpus.Uploads))
	}
}

// TestResumeInsideParts resumes below what earlier requests sent to S3 as
// parts (a request whose acknowledgement was lost): the bytes past the
// offset are dropped although S3 cannot shorten a multipart upload.
func TestResumeInsideParts(t *testing.T) {
	g := server(t)
	opts := options(g)
	for _, offset := range []int64{7 << 20, s3.MinPartSize, 1 << 20, 0} {
		d := newDriver(t, opts)
		first := random(2*s3.MinPartSize + 1<<20)
		id := stage(t, d, first)
		w, err := newDriver(t, opts).Upload(t.Context(), id, offset)
		if err != nil {
			t.Fatalf("Upload(%d): %v", offset, err)
		}
		if w.Size() != offset {
			t.Errorf("resumed Size() = %d, want %d", w.Size(), offset)
		}
		rest := random(6 << 20)
		if _, err := w.Write(rest); err != nil {
			t.Fatal(err)
		}
		want := append(append([]byte(nil), first[:offset]...), rest...)
		dgst := digest.SHA256.FromBytes(want)
		if err := w.Commit(t.Context(), dgst); err != nil {
			t.Fatalf("Commit after resume at %d: %v", offset, err)
		}
		if got := storagetest.ReadBlob(t, d, dgst); !bytes.Equal(got, want) {
			t.Errorf("resume at %d: read %d bytes, want %d; content differs", offset, len(got), len(want))
		}
	}
}

// TestRedirect fetches a blob through its presigned URL, whole and by
// Range, as a client following the registry's redirect does.
func TestRedirect(t *testing.T) {
	g := server(t)
	opts := options(g)
	content := random(3 << 20)
	off := newDriver(t, opts)
	dgst := storagetest.Put(t, off, digest.SHA256, content)
	if u, err := off.RedirectURL(t.Context(), dgst); err != nil || u != "" {
		t.Errorf("RedirectURL with redirects off = %q, %v; want \"\"", u, err)
	}
	opts.Redirect, opts.RedirectTTL = true, time.Minute
	u, err := newDriver(t, opts).RedirectURL(t.Context(), dgst)
	if err != nil || u == "" {
		t.Fatalf("RedirectURL = %q, %v", u, err)
	}
	if q, _ := url.Parse(u); q.Query().Get("X-Amz-Expires") != "60" {
		t.Errorf("presigned URL expires in %q s, want 60", q.Query().Get("X-Amz-Expires"))
	}
	for _, tc := range []struct {
		rng        string
		status     int
		start, end int
	}{
		{"", http.StatusOK, 0, len(content)},
		{"bytes=1000-1999", http.StatusPartialContent, 1000, 2000},
		{"bytes=-10", http.StatusPartialContent, len(content) - 10, len(content)},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		if tc.rng != "" {
			req.Header.Set("Range", tc.rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tc.status || !bytes.Equal(got, content[tc.start:tc.end]) {
			t.Errorf("GET %q: %d, %d bytes, %v; want %d with bytes %d-%d", tc.rng, resp.StatusCode, len(got), err, tc.status, tc.start, tc.end)
		}
	}
	// A tampered URL (another key) is refused by S3.
	bad := strings.Replace(u, dgst.Encoded(), digest.SHA256.FromString("x").Encoded(), 2)
	resp, err := http.Get(bad)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("tampered presigned URL: %d, want 403", resp.StatusCode)
	}
}

// TestPrefixesApart runs two drivers on one bucket under different
// prefixes: neither sees the other's blobs.
func TestPrefixesApart(t *testing.T) {
	g := server(t)
	a, b := newDriver(t, options(g)), newDriver(t, options(g))
	dgst := storagetest.Put(t, a, digest.SHA256, []byte("only in a"))
	if _, err := b.Stat(t.Context(), dgst); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat through the other prefix = %v, want ErrNotFound", err)
	}
	n := 0
	if err := b.Walk(t.Context(), func(digest.Digest, int64) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("Walk of the other prefix: %d blobs, %v", n, err)
	}
}

// TestUnavailable answers every request with 503, then makes the server
// unreachable: each operation retries as configured and fails with
// storage.ErrUnavailable, which the registry answers with UNAVAILABLE, and
// works again once the server is back.
func TestUnavailable(t *testing.T) {
	g := server(t)
	f := testserver.StartS3Outage(t, g.Endpoint)
	opts := options(g)
	opts.Endpoint = f.URL
	opts.MaxAttempts = 3
	d := newDriver(t, opts)
	dgst := storagetest.Put(t, d, digest.SHA256, []byte("before the outage"))

	f.Down.Store(true)
	if _, err := d.Stat(t.Context(), dgst); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Stat during 503s = %v, want ErrUnavailable", err)
	}
	if got := f.Refused.Load(); got != 3 {
		t.Errorf("Stat made %d attempts, want 3 (MaxAttempts)", got)
	}
	if _, err := d.Upload(t.Context(), storagetest.NewID(), -1); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Upload during 503s = %v, want ErrUnavailable", err)
	}
	f.Refused.Store(0)
	if err := d.Probe(t.Context()); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Probe during 503s = %v, want ErrUnavailable", err)
	}
	if got := f.Refused.Load(); got != 1 {
		t.Errorf("Probe made %d attempts, want 1: readiness must answer within its own deadline", got)
	}

	f.Down.Store(false)
	if got := storagetest.ReadBlob(t, d, dgst); string(got) != "before the outage" {
		t.Errorf("after the outage read %q", got)
	}
	if err := d.Probe(t.Context()); err != nil {
		t.Errorf("Probe after the outage: %v", err)
	}

	f.Close()
	if _, err := d.Stat(t.Context(), dgst); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Stat of an unreachable server = %v, want ErrUnavailable", err)
	}
	if err := d.Probe(t.Context()); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Probe of an unreachable server = %v, want ErrUnavailable", err)
	}
}

// TestCredentialsNotInErrors uses a wrong secret: the error names the
// bucket, and never the secret.
func TestCredentialsNotInErrors(t *testing.T) {
	g := server(t)
	opts := options(g)
	opts.SecretKey = "wrong-secret-" + rand.Text()
	err := newDriver(t, opts).Probe(t.Context())
	if err == nil {
		t.Fatal("Probe with a wrong secret succeeded")
	}
	if strings.Contains(err.Error(), opts.SecretKey) || !strings.Contains(err.Error(), "s3://"+bucket) {
		t.Errorf("error %q: want the bucket named and the secret absent", err)
	}
}

// TestOpenUploadWithParts reads back an upload whose bytes are partly in a
// multipart upload (which S3 cannot read) and partly in the tail, then
// resumes and commits it: the read-back keeps the upload whole.
func TestOpenUploadWithParts(t *testing.T) {
	g := server(t)
	opts := options(g)
	d := newDriver(t, opts)
	content := random(2*s3.MinPartSize + 1234)
	id := stage(t, d, content)
	rc, err := d.OpenUpload(t.Context(), id)
	if err != nil {
		t.Fatalf("OpenUpload: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("OpenUpload read %d bytes, %v; want the %d staged", len(got), err, len(content))
	}
	w, err := newDriver(t, opts).Upload(t.Context(), id, int64(len(content)))
	if err != nil {
		t.Fatalf("resume after OpenUpload: %v", err)
	}
	more := random(3 << 20)
	if _, err := w.Write(more); err != nil {
		t.Fatal(err)
	}
	all := append(content, more...)
	dgst := digest.SHA256.FromBytes(all)
	if err := w.Commit(t.Context(), dgst); err != nil {
		t.Fatalf("Commit after OpenUpload: %v", err)
	}
	if got := storagetest.ReadBlob(t, d, dgst); !bytes.Equal(got, all) {
		t.Errorf("read %d bytes back, want %d; content differs", len(got), len(all))
	}
}

// TestPartFailsInTheBackground makes S3 refuse a part that Write handed to
// the background: Close fails and saves nothing, so the upload resumes at
// what was saved before, and completes once S3 is back.
func TestPartFailsInTheBackground(t *testing.T) {
	g := server(t)
	f := testserver.StartS3Outage(t, g.Endpoint)
	opts := options(g)
	opts.Endpoint, opts.MaxAttempts = f.URL, 1
	d := newDriver(t, opts)
	first := random(s3.MinPartSize + 1<<20) // one part and a tail
	id := stage(t, d, first)

	w, err := d.Upload(t.Context(), id, int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	f.Down.Store(true)
	lost := random(s3.MinPartSize)
	if _, err := w.Write(lost); err != nil {
		t.Fatalf("Write handing a part to the background: %v", err)
	}
	if err := w.Close(); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Close after a part failed = %v, want ErrUnavailable", err)
	}
	if f.Refused.Load() == 0 {
		t.Fatal("no request reached the failing proxy")
	}
	f.Down.Store(false)
	if _, err := d.Upload(t.Context(), id, int64(len(first)+len(lost))); !errors.Is(err, storage.ErrOffset) {
		t.Errorf("resume past what was saved = %v, want ErrOffset", err)
	}
	w, err = d.Upload(t.Context(), id, int64(len(first)))
	if err != nil {
		t.Fatalf("resume at what was saved: %v", err)
	}
	rest := random(3 << 20)
	if _, err := w.Write(rest); err != nil {
		t.Fatal(err)
	}
	all := append(append([]byte(nil), first...), rest...)
	dgst := digest.SHA256.FromBytes(all)
	if err := w.Commit(t.Context(), dgst); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := storagetest.ReadBlob(t, d, dgst); !bytes.Equal(got, all) {
		t.Errorf("read %d bytes, want %d; content differs", len(got), len(all))
	}
}

// TestCredentialChain gives the driver no keys: the SDK's standard chain
// finds them in AWS_* variables, or in a shared credentials file's profile.
func TestCredentialChain(t *testing.T) {
	g := server(t)
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config")) // none: the machine's own stays out
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	opts := options(g)
	opts.AccessKey, opts.SecretKey = "", ""

	t.Setenv("AWS_ACCESS_KEY_ID", g.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", g.SecretKey)
	if err := newDriver(t, opts).Probe(t.Context()); err != nil {
		t.Errorf("credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: %v", err)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	creds := filepath.Join(dir, "credentials")
	body := "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[wharf]\naws_access_key_id = " + g.AccessKey +
		"\naws_secret_access_key = " + g.SecretKey + "\n"
	if err := os.WriteFile(creds, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_PROFILE", "wharf")
	if err := newDriver(t, opts).Probe(t.Context()); err != nil {
		t.Errorf("credentials from the wharf profile of AWS_SHARED_CREDENTIALS_FILE: %v", err)
	}
	t.Setenv("AWS_PROFILE", "default")
	if err := newDriver(t, opts).Probe(t.Context()); err == nil {
		t.Error("the default profile's wrong keys were accepted: the file was not what the driver read")
	}
}

// TestEncryptionAndClass writes with server-side encryption and a storage
// class: every write carries them (the proxy in front sees the headers;
// versitygw itself ignores encryption), and the blobs read back.
func TestEncryptionAndClass(t *testing.T) {
	g := server(t)
	f := testserver.StartS3Outage(t, g.Endpoint)
	opts := options(g)
	opts.Endpoint = f.URL
	opts.Encryption, opts.KMSKeyID, opts.StorageClass = "aws:kms", "alias/wharf", "STANDARD_IA"
	d := newDriver(t, opts)
	small := storagetest.Put(t, d, digest.SHA256, []byte("encrypted at rest"))
	big := random(s3.MinPartSize + 1)
	id := stage(t, d, big)
	w, err := d.Upload(t.Context(), id, int64(len(big)))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context(), digest.SHA256.FromBytes(big)); err != nil {
		t.Fatalf("Commit of a multipart upload with encryption: %v", err)
	}
	if got := storagetest.ReadBlob(t, d, small); string(got) != "encrypted at rest" {
		t.Errorf("read %q", got)
	}
	// The class is asked for on the blobs' keys only: PutObject of the
	// small one, CopyObject of the large one; not on staging objects.
	if n := f.Requests("X-Amz-Storage-Class"); n != 2 {
		t.Errorf("%d requests carried a storage class, want 2 (the two blobs' writes)", n)
	}
	for h, want := range map[string]string{"X-Amz-Server-Side-Encryption": "aws:kms",
		"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": "alias/wharf", "X-Amz-Storage-Class": "STANDARD_IA"} {
		if got := f.Seen(h); len(got) != 1 || got[0] != want {
			t.Errorf("%s sent as %q, want only %q", h, got, want)
		}
	}
	if got := storagetest.ReadBlob(t, d, digest.SHA256.FromBytes(big)); !bytes.Equal(got, big) {
		t.Error("the multipart blob reads back different")
	}
}

// TestCheckSaysWhatToFix: a missing bucket and a wrong secret are errors
// that name the fix; S3 down is ErrUnavailable, to be waited out.
func TestCheckSaysWhatToFix(t *testing.T) {
	g := server(t)
	if err := newDriver(t, options(g)).Check(t.Context()); err != nil {
		t.Fatalf("Check of a good configuration: %v", err)
	}
	opts := options(g)
	opts.Bucket = "absent"
	if err := newDriver(t, opts).Check(t.Context()); err == nil || !strings.Contains(err.Error(), `create the bucket "absent"`) {
		t.Errorf("Check of a missing bucket = %v, want the fix named", err)
	}
	opts = options(g)
	opts.SecretKey = "wrong"
	if err := newDriver(t, opts).Check(t.Context()); err == nil || !strings.Contains(err.Error(), "S3 refuses the credentials") {
		t.Errorf("Check with a wrong secret = %v, want the fix named", err)
	}
	f := testserver.StartS3Outage(t, g.Endpoint)
	f.Down.Store(true)
	opts = options(g)
	opts.Endpoint = f.URL
	if err := newDriver(t, opts).Check(t.Context()); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Check of S3 down = %v, want ErrUnavailable", err)
	}
}

// TestCommitAfterACrashedCommit: a commit that completed the multipart
// upload and died before publishing the blob leaves the upload's state
// naming a multipart upload S3 no longer has. The client's retry commits
// from the completed data object.
func TestCommitAfterACrashedCommit(t *testing.T) {
	g := server(t)
	opts := options(g)
	d := newDriver(t, opts)
	content := random(2*s3.MinPartSize + 100)
	id := stage(t, d, content) // two parts and a tail

	// What the dead commit did: the tail as the last part, then
	// CompleteMultipartUpload. Done here by hand through S3's API, which
	// is how the test knows the bytes of the data object.
	raw := rawClient(t, g)
	stateKey, dataKey := opts.Prefix+"uploads/"+id, opts.Prefix+"uploads/"+id+".data"
	out, err := raw.GetObject(t.Context(), &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: &stateKey})
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Upload string
		Parts  []struct {
			N    int32
			ETag string
		}
	}
	err = json.NewDecoder(out.Body).Decode(&st)
	out.Body.Close()
	if err != nil || len(st.Parts) != 2 {
		t.Fatalf("state: %+v, %v; want two parts", st, err)
	}
	var parts []types.CompletedPart
	for _, p := range st.Parts {
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(p.N), ETag: aws.String(p.ETag)})
	}
	tail := content[2*s3.MinPartSize:]
	last, err := raw.UploadPart(t.Context(), &awss3.UploadPartInput{Bucket: aws.String(bucket), Key: &dataKey, UploadId: &st.Upload,
		PartNumber: aws.Int32(3), Body: bytes.NewReader(tail), ContentLength: aws.Int64(int64(len(tail)))})
	if err != nil {
		t.Fatal(err)
	}
	parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(3), ETag: last.ETag})
	if _, err := raw.CompleteMultipartUpload(t.Context(), &awss3.CompleteMultipartUploadInput{Bucket: aws.String(bucket),
		Key: &dataKey, UploadId: &st.Upload, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}

	w, err := newDriver(t, opts).Upload(t.Context(), id, int64(len(content)))
	if err != nil {
		t.Fatalf("resume after the dead commit: %v", err)
	}
	dgst := digest.SHA256.FromBytes(content)
	if err := w.Commit(t.Context(), dgst); err != nil {
		t.Fatalf("Commit after the dead commit = %v", err)
	}
	if got := storagetest.ReadBlob(t, d, dgst); !bytes.Equal(got, content) {
		t.Errorf("read %d bytes, want %d; content differs", len(got), len(content))
	}
	enc := dgst.Encoded()
	if got := keys(t, g, opts.Prefix); strings.Join(got, ",") != "blobs/sha256/"+enc[:2]+"/"+enc {
		t.Errorf("keys after the retried commit: %v, want only the blob", got)
	}
}
