package doctor

import (
	"context"
	"log/slog"
	"time"

	"wharf/internal/blobstore"
	"wharf/internal/config"
	"wharf/internal/storage/s3"
)

// s3Timeout bounds the whole S3 check: each of its steps makes one
// attempt, so a server that does not answer fails it rather than hangs.
const s3Timeout = 60 * time.Second

// checkS3 runs the S3 driver's diagnosis against storage.s3 of each
// configuration that sets it: the bucket, the credentials, the clocks, a
// write, read and delete of a probe object, and a presigned GET, as the
// server will use them. The check writes one small object and removes it.
func checkS3(ctx context.Context, r *Report, s Setup) {
	for _, c := range []*config.Config{s.Serve, s.Registry} {
		if c == nil || c.Storage.S3 == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, s3Timeout)
		d, err := s3.New(ctx, blobstore.S3Options(c.Storage.S3, c.Storage.Redirect, slog.New(slog.DiscardHandler)))
		if err != nil {
			r.Fail("S3", err.Error(), "correct storage.s3 (see docs/s3.md)")
			cancel()
			continue
		}
		for _, step := range d.Diagnose(ctx) {
			check := "S3 " + step.Name
			switch {
			case !step.OK:
				r.Fail(check, step.Detail, step.Fix)
			case step.Warn:
				r.Warn(check, step.Detail, step.Fix)
			default:
				r.Pass(check, step.Detail)
			}
		}
		cancel()
	}
}
