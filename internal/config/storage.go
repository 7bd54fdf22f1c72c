package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"wharf/internal/auth"
)

// Storage chooses and tunes the blob store: the data directory's blobs/
// (the default) or an S3 bucket (storage.s3, in distribution's keys so
// that a registry:2 configuration carries over).
type Storage struct {
	// Delete allows the DELETE API (distribution's storage.delete.enabled,
	// off there by default; on in wharf serve, where the ACL decides).
	Delete bool `yaml:"delete"`
	// S3, when set, stores blobs in a bucket instead of the data
	// directory. The metadata database stays where database: says.
	S3 *S3 `yaml:"s3"`
	// Redirect answers pulls of a store that can with a redirect to the
	// store (S3: a presigned URL).
	Redirect Redirect `yaml:"redirect"`
}

// S3 is an S3 bucket (AWS, or any server that speaks its API: Ceph RGW,
// MinIO, R2, GCS interoperability). Empty credentials and region come from
// the SDK's standard chain: AWS_* variables, ~/.aws/credentials and config
// (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE), web identity token files,
// container and instance roles.
type S3 struct {
	Bucket string `yaml:"bucket"`
	Region string `yaml:"region"`
	// RegionEndpoint is the URL of an S3-compatible server
	// ("https://minio.example:9000"); empty is AWS.
	RegionEndpoint string `yaml:"regionendpoint"`
	// ForcePathStyle puts the bucket in the URL's path rather than its
	// host name, as most S3-compatible servers need.
	ForcePathStyle bool        `yaml:"forcepathstyle"`
	AccessKey      string      `yaml:"accesskey"`
	SecretKey      auth.Secret `yaml:"secretkey"`
	SessionToken   auth.Secret `yaml:"sessiontoken"`
	// Encrypt asks S3 to encrypt every object at rest: with the KMS key
	// KeyID (aws:kms) when given, else with S3's own keys (AES256).
	Encrypt bool   `yaml:"encrypt"`
	KeyID   string `yaml:"keyid"`
	// StorageClass of every object ("STANDARD", "INTELLIGENT_TIERING", …).
	StorageClass string `yaml:"storageclass"`
	// RootDirectory is a key prefix, so that a bucket can hold other
	// data too ("/registry").
	RootDirectory string `yaml:"rootdirectory"`
	// ChunkSize is the part size of uploads in bytes, 5 MiB to 5 GiB;
	// 0 is 16 MiB. Each upload in progress holds up to one in memory.
	ChunkSize int64 `yaml:"chunksize"`
	// Secure picks https for a regionendpoint given without a scheme
	// (default true).
	Secure *bool `yaml:"secure"`
	// SkipVerify accepts any certificate from regionendpoint: test setups
	// only.
	SkipVerify bool `yaml:"skipverify"`
	// MaxAttempts bounds the tries of each request, with exponential
	// backoff between them; 0 is 5.
	MaxAttempts int `yaml:"maxattempts"`
	// ConnectTimeout bounds opening a connection to S3; 0 is 10s.
	ConnectTimeout Duration `yaml:"connecttimeout"`
	// Timeout is the longest S3 may stay silent (no answer, no byte of a
	// body) before the attempt fails and is retried; 0 is 60s. It is not
	// a deadline on a whole transfer.
	Timeout Duration `yaml:"timeout"`
	// RedirectEndpoint is the address clients reach the same S3 server
	// at, when it differs from RegionEndpoint (an internal address for
	// wharf, a public one for clients): presigned URLs are signed for it.
	RedirectEndpoint string `yaml:"redirectendpoint"`
}

// Redirect configures pulls answered by the store (storage.redirect).
type Redirect struct {
	// Disable proxies pulls through the registry instead
	// (distribution's storage.redirect.disable).
	Disable bool `yaml:"disable"`
	// TTL is how long a redirect's URL stays valid; 0 is 20 minutes.
	TTL Duration `yaml:"ttl"`
}

// S3 limits validate checks.
const (
	minS3ChunkSize = 5 << 20
	maxS3ChunkSize = 5 << 30
	// maxRedirectTTL is the longest a SigV4 presigned URL can be valid.
	maxRedirectTTL = 7 * 24 * time.Hour
	// maxS3Timeout keeps a typo (timeout: 60000) from hanging requests
	// for days.
	maxS3Timeout = time.Hour
)

// SetSecrets sets SecretKey and SessionToken, for readers of other
// configuration formats.
func (s *S3) SetSecrets(secretKey, sessionToken string) {
	s.SecretKey, s.SessionToken = auth.Secret(secretKey), auth.Secret(sessionToken)
}

// Endpoint is RegionEndpoint with a scheme: https unless secure: false.
func (s S3) Endpoint() string {
	e := s.RegionEndpoint
	if e == "" || strings.Contains(e, "://") {
		return e
	}
	if s.Secure != nil && !*s.Secure {
		return "http://" + e
	}
	return "https://" + e
}

// Prefix is RootDirectory as a key prefix: no leading slash, one trailing
// slash, "" for the bucket's root.
func (s S3) Prefix() string {
	p := strings.Trim(s.RootDirectory, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

// Encryption is the server-side encryption Encrypt and KeyID ask for.
func (s S3) Encryption() string {
	switch {
	case !s.Encrypt:
		return ""
	case s.KeyID != "":
		return "aws:kms"
	}
	return "AES256"
}

func (st Storage) validate() []error {
	var errs []error
	if st.Redirect.TTL < 0 || st.Redirect.TTL.Std() > maxRedirectTTL {
		errs = append(errs, fmt.Errorf("storage.redirect.ttl: %s is outside 0 to 7d (0 is 20m; S3 signs URLs for at most 7 days)", st.Redirect.TTL.Std()))
	}
	s := st.S3
	if s == nil {
		return errs
	}
	if s.Bucket == "" {
		errs = append(errs, fmt.Errorf("storage.s3.bucket: required: the bucket that holds the blobs (create it first)"))
	}
	if e := s.Endpoint(); e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("storage.s3.regionendpoint: %q is not a URL such as https://s3.example.com or http://127.0.0.1:9000", s.RegionEndpoint))
		}
	}
	if s.ChunkSize != 0 && (s.ChunkSize < minS3ChunkSize || s.ChunkSize > maxS3ChunkSize) {
		errs = append(errs, fmt.Errorf("storage.s3.chunksize: %d is outside S3's part sizes, %d (5 MiB) to %d (5 GiB); 0 is 16 MiB",
			s.ChunkSize, minS3ChunkSize, maxS3ChunkSize))
	}
	if s.KeyID != "" && !s.Encrypt {
		errs = append(errs, fmt.Errorf("storage.s3.keyid: set, but encrypt is false; add encrypt: true to encrypt with this KMS key"))
	}
	if p := s.Prefix(); strings.Contains(p, "//") || strings.ContainsFunc(p, badKeyRune) {
		errs = append(errs, fmt.Errorf("storage.s3.rootdirectory: %q may hold only letters, digits and . _ - / (no empty segment)", s.RootDirectory))
	}
	if strings.ContainsFunc(s.StorageClass, func(r rune) bool { return !('A' <= r && r <= 'Z' || r == '_') }) {
		errs = append(errs, fmt.Errorf("storage.s3.storageclass: %q is not an S3 storage class such as STANDARD or INTELLIGENT_TIERING", s.StorageClass))
	}
	if s.MaxAttempts < 0 || s.MaxAttempts > 20 {
		errs = append(errs, fmt.Errorf("storage.s3.maxattempts: %d is outside 0 to 20 (0 is 5)", s.MaxAttempts))
	}
	for _, tc := range []struct {
		key string
		d   Duration
	}{{"connecttimeout", s.ConnectTimeout}, {"timeout", s.Timeout}} {
		if tc.d != 0 && (tc.d.Std() < 100*time.Millisecond || tc.d.Std() > maxS3Timeout) {
			errs = append(errs, fmt.Errorf("storage.s3.%s: %s is outside 100ms to 1h (0 is the default)", tc.key, tc.d.Std()))
		}
	}
	if e := s.RedirectEndpoint; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("storage.s3.redirectendpoint: %q is not a URL such as https://s3.example.com (a scheme and a host, no path)", e))
		}
	}
	if (s.AccessKey == "") != (s.SecretKey == "") {
		errs = append(errs, fmt.Errorf("storage.s3: accesskey and secretkey go together; give both, or neither to use the AWS credential chain"))
	}
	return errs
}

// badKeyRune reports a character that must not reach an S3 key through
// the prefix: the driver names keys in copy requests unescaped.
func badKeyRune(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("._-/", r))
}
