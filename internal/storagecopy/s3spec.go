package storagecopy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/smithy-go"
	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
	"wharf/internal/storage/s3"
)

// s3Form is the s3 kind's spec as messages and the help show it.
const s3Form = "s3:BUCKET[/PREFIX][?endpoint=URL&region=REGION&pathstyle=BOOL]"

// parseS3 reads what follows "s3:" into the driver's options. Credentials
// are never part of a spec (it shows in ps and shell history): they come
// from the SDK's standard chain, AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, or an instance role.
func parseS3(arg string) (s3.Options, error) {
	path, query, _ := strings.Cut(arg, "?")
	bucket, prefix, _ := strings.Cut(path, "/")
	if bucket == "" {
		return s3.Options{}, fmt.Errorf("%w: s3:%s names no bucket: want %s", ErrSpec, arg, s3Form)
	}
	opts := s3.Options{Bucket: bucket}
	if p := strings.Trim(prefix, "/"); p != "" {
		// The prefix of storage.s3.rootdirectory: the copy lands where a
		// server configured with it looks.
		opts.Prefix = p + "/"
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return s3.Options{}, fmt.Errorf("%w: s3:%s: %v", ErrSpec, arg, err)
	}
	pathStyle := ""
	for key, vals := range q {
		if len(vals) != 1 {
			return s3.Options{}, fmt.Errorf("%w: s3:%s gives %s %d times", ErrSpec, arg, key, len(vals))
		}
		v := vals[0]
		switch key {
		case "endpoint":
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return s3.Options{}, fmt.Errorf("%w: s3:%s: endpoint %q: want http://HOST[:PORT] or https://HOST[:PORT]", ErrSpec, arg, v)
			}
			opts.Endpoint = v
		case "region":
			opts.Region = v
		case "pathstyle":
			pathStyle = v
		default:
			return s3.Options{}, fmt.Errorf("%w: s3:%s: unknown option %q: want endpoint, region or pathstyle", ErrSpec, arg, key)
		}
	}
	// S3-compatible servers (Ceph RGW, MinIO, versitygw) mostly need the
	// bucket in the path; AWS wants it in the host name.
	opts.PathStyle = opts.Endpoint != ""
	if pathStyle != "" {
		b, err := strconv.ParseBool(pathStyle)
		if err != nil {
			return s3.Options{}, fmt.Errorf("%w: s3:%s: pathstyle %q: want true or false", ErrSpec, arg, pathStyle)
		}
		opts.PathStyle = b
	}
	return opts, nil
}

// openS3 opens the bucket arg names. A source (mustExist) is only listed,
// never written to: a missing bucket is ErrAbsent. A destination is checked
// with a test write, so that a missing bucket or refused credentials stop
// the copy before its first blob. Buckets are never created: their region,
// policy and lifecycle are the operator's choice.
func openS3(ctx context.Context, arg string, mustExist bool) (storage.Driver, error) {
	opts, err := parseS3(arg)
	if err != nil {
		return nil, err
	}
	d, err := s3.New(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("storagecopy: %w", err)
	}
	if !mustExist {
		if err := d.Check(ctx); err != nil {
			return nil, fmt.Errorf("storagecopy: s3:%s: %w", arg, err)
		}
		return d, nil
	}
	errFirst := errors.New("first blob")
	err = d.Walk(ctx, func(digest.Digest, int64) error { return errFirst })
	switch {
	case err == nil, errors.Is(err, errFirst):
		return d, nil
	case isNoSuchBucket(err):
		return nil, fmt.Errorf("%w: bucket %q does not exist at %s: %v", ErrAbsent, opts.Bucket, endpointName(opts), err)
	}
	return nil, fmt.Errorf("storagecopy: s3:%s: %w", arg, err)
}

func endpointName(o s3.Options) string {
	if o.Endpoint == "" {
		return "AWS"
	}
	return o.Endpoint
}

func isNoSuchBucket(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket"
}
