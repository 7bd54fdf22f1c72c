package blobstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/storage"
	"wharf/internal/storage/filesystem"
	"wharf/internal/storage/s3"
)

// Store is a blob store as the server and the commands use it: the
// Driver, and the readiness check of a store that takes pushes.
type Store interface {
	storage.Driver
	Probe(ctx context.Context) error
}

// checkTimeout bounds the start-up check of an S3 bucket.
const checkTimeout = 15 * time.Second

// Open returns the store cfg names: storage.s3's bucket when set, else the
// filesystem under dir's blobs/. An S3 bucket is checked with a test
// write: a missing bucket or refused credentials are an error that says
// what to fix.
func Open(ctx context.Context, cfg config.Config, dir datadir.Dir, log *slog.Logger) (Store, error) {
	st := cfg.Storage
	if st.S3 == nil {
		d, err := filesystem.New(dir.Blobs())
		if err != nil {
			return nil, fmt.Errorf("blobstore: %w", err)
		}
		return d, nil
	}
	c := st.S3
	d, err := s3.New(ctx, S3Options(c, st.Redirect, log))
	if err != nil {
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	if c.SkipVerify {
		log.Warn("storage.s3.skipverify: the S3 endpoint's certificate is not checked; anyone on the path can read and change blobs", "endpoint", c.Endpoint())
	}
	// A wrong bucket or wrong credentials would fail every push: say so
	// now. S3 being down is waited out, with /readyz false meanwhile.
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if err := d.Check(cctx); errors.Is(err, storage.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		log.Warn("S3 does not answer; starting anyway, with /readyz false until it does", "err", err)
	} else if err != nil {
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	log.Info("blobs are stored in S3", "bucket", c.Bucket, "prefix", c.Prefix(), "endpoint", c.Endpoint(),
		"redirect", !st.Redirect.Disable)
	return d, nil
}

// S3Options translates storage.s3 and storage.redirect into the driver's
// options. Pulls are redirected to presigned URLs unless redirect.disable.
func S3Options(c *config.S3, r config.Redirect, log *slog.Logger) s3.Options {
	return s3.Options{
		Bucket:             c.Bucket,
		Region:             c.Region,
		Endpoint:           c.Endpoint(),
		PathStyle:          c.ForcePathStyle,
		AccessKey:          c.AccessKey,
		SecretKey:          c.SecretKey.Reveal(),
		SessionToken:       c.SessionToken.Reveal(),
		Prefix:             c.Prefix(),
		Encryption:         c.Encryption(),
		KMSKeyID:           c.KeyID,
		StorageClass:       c.StorageClass,
		PartSize:           c.ChunkSize,
		Redirect:           !r.Disable,
		RedirectTTL:        r.TTL.Std(),
		RedirectEndpoint:   c.RedirectEndpoint,
		ConnectTimeout:     c.ConnectTimeout.Std(),
		Timeout:            c.Timeout.Std(),
		MaxAttempts:        c.MaxAttempts,
		InsecureSkipVerify: c.SkipVerify,
		Log:                log.With("component", "s3"),
	}
}
