package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"wharf/internal/authstack"
	"wharf/internal/blobstore"
	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
)

// lockData takes the data directory's lock, which wharf serve on SQLite
// holds while it runs; fix is what the error says to do when a server has
// it. The caller releases the lock with the returned function.
func lockData(dir datadir.Dir, fix string) (unlock func(), err error) {
	lock, err := dir.Lock()
	if errors.Is(err, datadir.ErrInUse) {
		return nil, fmt.Errorf("%s: %w", fix, err)
	}
	if err != nil {
		return nil, err
	}
	return func() { _ = lock.Unlock() }, nil
}

// openStores opens what the commands that read or write images directly
// (import, fsck) work on: the metadata database cfg names and the blob
// store cfg names (dir's blobs/, or storage.s3). name prefixes the
// storage's error.
func openStores(ctx context.Context, name string, cfg config.Config, dir datadir.Dir, log *slog.Logger) (*metadata.Store, blobstore.Store, error) {
	meta, err := authstack.OpenMetadata(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	blobs, err := blobstore.Open(ctx, cfg, dir, log)
	if err != nil {
		meta.Close()
		return nil, nil, fmt.Errorf("%s: blob storage: %w", name, err)
	}
	return meta, blobs, nil
}
