package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/storage"
)

// StatBlob returns the size of a blob linked to repo.
//
// On SQLite, a link read while nothing has been committed since is
// answered from memory (linkCache).
func (r *Registry) StatBlob(ctx context.Context, repo string, dgst digest.Digest) (int64, error) {
	gen, _, err := r.meta.ChangeGeneration(ctx) // 0 without a watch: never cached
	if err != nil {
		return 0, fmt.Errorf("registry: stat blob: %w", err)
	}
	if size, ok := r.links.get(repo, dgst, gen); ok {
		return size, nil
	}
	size, err := r.meta.RepoBlob(ctx, repo, dgst)
	if errors.Is(err, metadata.ErrNotFound) {
		return 0, ErrBlobUnknown
	}
	if err != nil {
		return 0, fmt.Errorf("registry: stat blob: %w", err)
	}
	r.links.put(repo, dgst, gen, size)
	return size, nil
}

// OpenBlob opens a blob linked to repo for reading.
func (r *Registry) OpenBlob(ctx context.Context, repo string, dgst digest.Digest) (storage.Blob, error) {
	if _, err := r.StatBlob(ctx, repo, dgst); err != nil {
		return nil, err
	}
	b, err := r.blobs.Open(ctx, dgst)
	if errors.Is(err, storage.ErrNotFound) {
		// wharf fsck, which is to find every such blob, is not built yet:
		// the log names the one a client asked for, and what to do now.
		r.log.ErrorContext(ctx, "blob recorded in the database but its file is missing from storage (removed by hand, or a partial restore of the data directory): restore the blobs directory from a backup",
			"repo", repo, "digest", dgst)
		return nil, ErrBlobUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("registry: open blob: %w", err)
	}
	return b, nil
}

// BlobURL returns a URL where a client can fetch a blob linked to repo
// straight from the store, and the blob's size; "" when the store does not
// redirect (the caller serves OpenBlob instead).
func (r *Registry) BlobURL(ctx context.Context, repo string, dgst digest.Digest) (string, int64, error) {
	rd, ok := r.blobs.(storage.Redirector)
	if !ok {
		return "", 0, nil
	}
	// Presigning is local: ask it first, so that a store with redirects
	// off costs no second metadata lookup.
	u, err := rd.RedirectURL(ctx, dgst)
	if err != nil {
		return "", 0, fmt.Errorf("registry: redirect blob: %w", err)
	}
	if u == "" {
		return "", 0, nil
	}
	size, err := r.StatBlob(ctx, repo, dgst)
	if err != nil {
		return "", 0, err
	}
	return u, size, nil
}

// DeleteBlob unlinks a blob from repo. The bytes stay in storage until
// garbage collection (internal/gc) finds that no manifest refers to them.
func (r *Registry) DeleteBlob(ctx context.Context, repo string, dgst digest.Digest) error {
	err := r.meta.UnlinkBlob(ctx, repo, dgst)
	if errors.Is(err, metadata.ErrNotFound) {
		return ErrBlobUnknown
	}
	if err != nil {
		return fmt.Errorf("registry: delete blob: %w", err)
	}
	return nil
}

// MountBlob links a blob from repository `from` into repo without moving
// bytes. With from == "" it succeeds only when Options.AnonymousMount allows
// it. ErrBlobUnknown means the caller should fall back to an upload.
func (r *Registry) MountBlob(ctx context.Context, repo, from string, dgst digest.Digest) (int64, error) {
	if from == "" && !r.opts.AnonymousMount {
		return 0, ErrBlobUnknown
	}
	if from == repo {
		return r.StatBlob(ctx, repo, dgst)
	}
	size, err := r.meta.LinkBlob(ctx, repo, from, dgst)
	if errors.Is(err, metadata.ErrNotFound) {
		return 0, ErrBlobUnknown
	}
	if err != nil {
		return 0, fmt.Errorf("registry: mount blob: %w", err)
	}
	return size, nil
}

// AddBlob links into repo a blob whose bytes the caller committed to the
// registry's storage itself and verified against dgst (wharf import), and
// returns its size. ErrBlobUnknown means storage does not hold it.
func (r *Registry) AddBlob(ctx context.Context, repo string, dgst digest.Digest) (int64, error) {
	size, err := r.blobs.Stat(ctx, dgst)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, ErrBlobUnknown
	}
	if err != nil {
		return 0, fmt.Errorf("registry: add blob: %w", err)
	}
	if err := r.meta.AddBlob(ctx, repo, dgst, size); err != nil {
		return 0, fmt.Errorf("registry: add blob: %w", err)
	}
	return size, nil
}
