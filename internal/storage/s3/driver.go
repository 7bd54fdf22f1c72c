package s3

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	// Registered for their side effect: go-digest only accepts algorithms
	// whose hash is linked in.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
)

var (
	_ storage.Driver       = (*Driver)(nil)
	_ storage.Lister       = (*Driver)(nil)
	_ storage.Redirector   = (*Driver)(nil)
	_ storage.StagedReader = (*Driver)(nil)
	_ storage.Blob         = (*blob)(nil)
	_ storage.Writer       = (*writer)(nil)
)

// Limits of the S3 API and the defaults chosen within them.
const (
	// MinPartSize is S3's smallest part of a multipart upload (all but the
	// last).
	MinPartSize = 5 << 20
	// DefaultPartSize is the part size when Options leaves it 0: each
	// upload in progress holds up to one part in memory.
	DefaultPartSize = 16 << 20
	// maxPartSize is S3's largest part.
	maxPartSize = 5 << 30
	// maxCopySize is the largest object CopyObject copies in one request;
	// larger blobs are copied part by part (UploadPartCopy).
	maxCopySize = 5 << 30
	// DefaultRedirectTTL is how long a presigned URL stays valid.
	DefaultRedirectTTL = 20 * time.Minute
	// DefaultMaxAttempts is how many times a request is tried (with the
	// SDK's exponential backoff and jitter) before its error is returned.
	DefaultMaxAttempts = 5
)

// Options configure a Driver. Zero values take the SDK's standard chain
// (region and credentials from AWS_* variables, ~/.aws files, web identity
// token files, instance roles) or the defaults above.
type Options struct {
	Bucket string
	// Region is the bucket's region; empty takes the standard chain's,
	// then "us-east-1" (what most S3-compatible servers expect).
	Region string
	// Endpoint is the server's URL for S3-compatible servers
	// ("http://127.0.0.1:7070"); empty means AWS.
	Endpoint string
	// PathStyle addresses the bucket in the path (endpoint/bucket/key)
	// rather than the host name, as most S3-compatible servers need.
	PathStyle bool
	// AccessKey and SecretKey (with SessionToken) are static credentials;
	// empty takes the standard chain.
	AccessKey, SecretKey, SessionToken string
	// Prefix is prepended to every key ("registry/"), so that one bucket
	// can hold other data too.
	Prefix string
	// Encryption is the server-side encryption of every object written:
	// "" (the bucket's default), "AES256" or "aws:kms" (with KMSKeyID, or
	// the account's default key).
	Encryption string
	KMSKeyID   string
	// StorageClass of every object written ("STANDARD",
	// "INTELLIGENT_TIERING", …); empty is the bucket's default.
	StorageClass string
	// PartSize is the size of an upload's parts, MinPartSize to 5 GiB;
	// 0 is DefaultPartSize.
	PartSize int64
	// Redirect answers pulls with a presigned URL valid for RedirectTTL
	// (0 is DefaultRedirectTTL) instead of proxying the bytes.
	Redirect    bool
	RedirectTTL time.Duration
	// RedirectEndpoint, when set, is the public address presigned URLs
	// point to instead of Endpoint (timeouts.go).
	RedirectEndpoint string
	// ConnectTimeout and Timeout bound a connection's opening and any
	// silence of S3; 0 is DefaultConnectTimeout and DefaultTimeout.
	ConnectTimeout, Timeout time.Duration
	// MaxAttempts bounds the tries of one request; 0 is
	// DefaultMaxAttempts.
	MaxAttempts int
	// InsecureSkipVerify accepts any certificate from Endpoint
	// (distribution's skipverify), for test setups.
	InsecureSkipVerify bool
	// Log receives the driver's warnings; nil discards them.
	Log *slog.Logger
}

// Driver stores blobs in an S3 bucket. It is safe for concurrent use, by
// any number of processes sharing the bucket and prefix.
type Driver struct {
	client   *awss3.Client
	presign  *awss3.PresignClient
	bucket   string
	prefix   string
	partSize int64
	sse      types.ServerSideEncryption
	kmsKeyID string
	class    types.StorageClass
	redirect time.Duration // 0: proxy pulls
	log      *slog.Logger
	// unconditional is set once the server refused a conditional write
	// (501): upload states are then checked before they are written.
	unconditional atomic.Bool
}

// New returns a driver for the bucket opts names. It does not contact S3:
// the readiness probe (Probe) does.
func New(ctx context.Context, opts Options) (*Driver, error) {
	if opts.Bucket == "" {
		return nil, errors.New("storage: s3: bucket is empty")
	}
	part := opts.PartSize
	if part == 0 {
		part = DefaultPartSize
	}
	if part < MinPartSize || part > maxPartSize {
		return nil, fmt.Errorf("storage: s3: part size %d is outside S3's limits (5 MiB to 5 GiB)", part)
	}
	cfg, err := loadConfig(ctx, opts)
	if err != nil {
		return nil, err
	}
	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		o.UsePathStyle = opts.PathStyle
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		// Checksums only where S3 requires them: the registry verifies
		// every digest itself, and servers other than AWS do not all
		// take the SDK's trailing checksums.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	d := &Driver{
		client:   client,
		presign:  newPresigner(client, opts.RedirectEndpoint),
		bucket:   opts.Bucket,
		prefix:   opts.Prefix,
		partSize: part,
		sse:      types.ServerSideEncryption(opts.Encryption),
		kmsKeyID: opts.KMSKeyID,
		class:    types.StorageClass(opts.StorageClass),
		log:      opts.Log,
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if opts.Redirect {
		d.redirect = opts.RedirectTTL
		if d.redirect <= 0 {
			d.redirect = DefaultRedirectTTL
		}
	}
	return d, nil
}

// loadConfig builds the SDK configuration: the standard chain, with what
// opts sets on top, a retryer with backoff and an HTTP client whose
// timeouts turn a hung server into an error.
func loadConfig(ctx context.Context, opts Options) (aws.Config, error) {
	attempts := opts.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		// Every upload and pull in flight holds a connection.
		tr.MaxIdleConns = 256
		tr.MaxIdleConnsPerHost = 256
		applyTimeouts(tr, opts)
		if opts.InsecureSkipVerify {
			if tr.TLSClientConfig == nil {
				tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			tr.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // asked for by storage.s3.skipverify
		}
	})
	loaders := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithHTTPClient(httpClient),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.MaxBackoff = 10 * time.Second
			})
		}),
	}
	if opts.Region != "" {
		loaders = append(loaders, awsconfig.WithRegion(opts.Region))
	}
	if opts.AccessKey != "" || opts.SecretKey != "" {
		loaders = append(loaders, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKey, opts.SecretKey, opts.SessionToken)))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("storage: s3: configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

// blobKey returns <prefix>blobs/<algorithm>/<first two hex>/<hex>.
// Validate admits only registered algorithms with lowercase hex of the
// exact length, so no component can hold a separator or a dot.
func (d *Driver) blobKey(dgst digest.Digest) (string, error) {
	if err := dgst.Validate(); err != nil {
		s := string(dgst)
		if len(s) > 140 {
			s = s[:140] + "…"
		}
		return "", fmt.Errorf("storage: digest %q: %w", s, err)
	}
	enc := dgst.Encoded()
	return d.prefix + "blobs/" + string(dgst.Algorithm()) + "/" + enc[:2] + "/" + enc, nil
}

// stateKey returns <prefix>uploads/<id>, or ErrInvalidID.
func (d *Driver) stateKey(id string) (string, error) {
	if err := storage.CheckUploadID(id); err != nil {
		return "", err
	}
	return d.prefix + "uploads/" + id, nil
}

// Stat returns the size of a committed blob.
func (d *Driver) Stat(ctx context.Context, dgst digest.Digest) (int64, error) {
	key, err := d.blobKey(dgst)
	if err != nil {
		return 0, err
	}
	out, err := d.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &d.bucket, Key: &key})
	if err != nil {
		return 0, d.fail(err, "blob "+dgst.String())
	}
	return aws.ToInt64(out.ContentLength), nil
}

// ModTime returns when a committed blob's object was written, or
// ErrNotFound: garbage collection removes an object without a metadata row
// only once it is older than the grace period.
func (d *Driver) ModTime(ctx context.Context, dgst digest.Digest) (time.Time, error) {
	key, err := d.blobKey(dgst)
	if err != nil {
		return time.Time{}, err
	}
	out, err := d.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &d.bucket, Key: &key})
	if err != nil {
		return time.Time{}, d.fail(err, "blob "+dgst.String())
	}
	return aws.ToTime(out.LastModified), nil
}

// Open returns a reader over a committed blob. It asks S3 for the size
// only: the bytes are fetched from the position of the first Read, so a
// HEAD request or a Range costs no wasted transfer.
func (d *Driver) Open(ctx context.Context, dgst digest.Digest) (storage.Blob, error) {
	key, err := d.blobKey(dgst)
	if err != nil {
		return nil, err
	}
	out, err := d.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &d.bucket, Key: &key})
	if err != nil {
		return nil, d.fail(err, "blob "+dgst.String())
	}
	return &blob{ctx: ctx, d: d, key: key, size: aws.ToInt64(out.ContentLength)}, nil
}

// Delete removes a committed blob. S3's DELETE succeeds on a missing key,
// so a HEAD first tells ErrNotFound apart.
func (d *Driver) Delete(ctx context.Context, dgst digest.Digest) error {
	key, err := d.blobKey(dgst)
	if err != nil {
		return err
	}
	if _, err := d.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &d.bucket, Key: &key}); err != nil {
		return d.fail(err, "blob "+dgst.String())
	}
	if _, err := d.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &d.bucket, Key: &key}); err != nil {
		return d.fail(err, "delete blob "+dgst.String())
	}
	return nil
}

// Walk calls fn for every committed blob, in lexical order of key. Keys
// that are not a valid digest layout are skipped, so Walk reports exactly
// what Stat and Open can reach.
func (d *Driver) Walk(ctx context.Context, fn func(dgst digest.Digest, size int64) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	root := d.prefix + "blobs/"
	pages := awss3.NewListObjectsV2Paginator(d.client, &awss3.ListObjectsV2Input{Bucket: &d.bucket, Prefix: &root})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return d.fail(err, "walk")
		}
		for _, obj := range page.Contents {
			if err := ctx.Err(); err != nil {
				return err
			}
			dgst, ok := parseBlobKey(strings.TrimPrefix(aws.ToString(obj.Key), root))
			if !ok {
				continue
			}
			if err := fn(dgst, aws.ToInt64(obj.Size)); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseBlobKey reads <algorithm>/<first two hex>/<hex> back into a digest.
func parseBlobKey(rel string) (digest.Digest, bool) {
	alg, rest, ok := strings.Cut(rel, "/")
	if !ok {
		return "", false
	}
	prefix, enc, ok := strings.Cut(rest, "/")
	if !ok || len(enc) < 2 || enc[:2] != prefix {
		return "", false
	}
	dgst := digest.NewDigestFromEncoded(digest.Algorithm(alg), enc)
	return dgst, dgst.Validate() == nil
}

// RedirectURL returns a presigned GET URL of blob dgst (Range requests
// included), valid for the configured TTL; "" when redirects are off.
// It does not ask S3 whether the blob exists: the registry's metadata
// already said so.
func (d *Driver) RedirectURL(ctx context.Context, dgst digest.Digest) (string, error) {
	if d.redirect <= 0 {
		return "", nil
	}
	key, err := d.blobKey(dgst)
	if err != nil {
		return "", err
	}
	req, err := d.presign.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: &d.bucket, Key: &key},
		awss3.WithPresignExpires(d.redirect))
	if err != nil {
		return "", fmt.Errorf("storage: presign blob %s: %w", dgst, err)
	}
	return req.URL, nil
}

// Probe writes a small object and removes it: the readiness check of a
// store that must take pushes. It fails when S3 is unreachable, answers
// errors, or refuses the credentials.
func (d *Driver) Probe(ctx context.Context) error {
	key := d.prefix + "probe/" + rand.Text()
	body := strings.NewReader("wharf\n")
	if _, err := d.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: &d.bucket, Key: &key, Body: body,
		ContentLength: aws.Int64(body.Size())}, d.noRetry); err != nil {
		return d.fail(err, "probe")
	}
	if _, err := d.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &d.bucket, Key: &key}, d.noRetry); err != nil {
		return d.fail(err, "probe")
	}
	return nil
}

// noRetry makes one attempt: the readiness probe must answer within its
// own deadline, not after the retryer's backoff.
func (d *Driver) noRetry(o *awss3.Options) {
	o.Retryer = retry.AddWithMaxAttempts(o.Retryer, 1)
}

// describe names the bucket for error messages: an operator reading a log
// line needs to know which store failed.
func (d *Driver) describe() string {
	return "s3://" + d.bucket + "/" + d.prefix
}

// Check runs the readiness probe at start-up and says what to fix when the
// configuration is wrong: a missing bucket, credentials S3 refuses. An
// error wrapping storage.ErrUnavailable is S3 down or unreachable, which
// the caller may wait out; anything else will not fix itself.
func (d *Driver) Check(ctx context.Context) error {
	err := d.Probe(ctx)
	switch code := apiCode(err); {
	case err == nil, errors.Is(err, storage.ErrUnavailable):
		return err
	case code == "NoSuchBucket":
		return fmt.Errorf("%w; create the bucket %q, or correct storage.s3.bucket", err, d.bucket)
	case code == "InvalidAccessKeyId", code == "SignatureDoesNotMatch", code == "AccessDenied", code == "Forbidden", httpStatus(err) == 403:
		return fmt.Errorf("%w; S3 refuses the credentials: check storage.s3.accesskey and secretkey, or the AWS credential chain "+
			"(AWS_ACCESS_KEY_ID, AWS_PROFILE, the instance role), and that the bucket policy allows PutObject and DeleteObject", err)
	}
	return err
}
