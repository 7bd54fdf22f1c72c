package registry

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/storage"
)

// What the pull-through cache (internal/proxy) stores through: content
// fetched from another registry, verified here and written through the
// same metadata and storage as pushed content, so that tag lists,
// referrers, garbage collection and sizes see it. Quotas count it but do
// not refuse it: a cache that could not store would fail pulls, not
// pushes. What it stores makes the admission read the usage again, so that
// the next push is weighed against the cached bytes too.

// Origin says where a repository's content comes from: pushed (local),
// fetched by the pull-through cache (cached), or nowhere yet (none).
type Origin = metadata.Origin

// The origins of a repository.
const (
	OriginNone   = metadata.OriginNone
	OriginLocal  = metadata.OriginLocal
	OriginCached = metadata.OriginCached
)

// RepositoryOrigin says whether repo holds pushed content, the cache's,
// or nothing yet; for the cache's, the upstream's host.
func (r *Registry) RepositoryOrigin(ctx context.Context, repo string) (Origin, string, error) {
	o, host, err := r.meta.RepositoryOrigin(ctx, repo)
	if err != nil {
		return 0, "", fmt.Errorf("registry: %w", err)
	}
	return o, host, nil
}

// ClaimCached marks repo as the cache's, filled from upstream (a host),
// before the cache stores into it: false when a local repository holds the
// name and takeLocal is false (the cache then leaves it alone).
func (r *Registry) ClaimCached(ctx context.Context, repo, upstream string, takeLocal bool) (bool, error) {
	ok, err := r.meta.ClaimCached(ctx, repo, upstream, takeLocal)
	if err != nil {
		return false, fmt.Errorf("registry: %w", err)
	}
	return ok, nil
}

// LocalManifest returns the digest a tag or digest names in repo, without
// recording a pull: ErrManifestUnknown when the registry does not hold it.
func (r *Registry) LocalManifest(ctx context.Context, repo, reference string) (digest.Digest, error) {
	tag, dgst, err := splitReference(reference)
	if err != nil {
		return "", err
	}
	m, err := r.meta.LookupManifest(ctx, repo, tag, dgst, false)
	if errors.Is(err, metadata.ErrNotFound) {
		return "", ErrManifestUnknown
	}
	if err != nil {
		return "", fmt.Errorf("registry: get manifest: %w", err)
	}
	return m.Digest, nil
}

// PutCachedManifest stores a manifest another registry served for repo,
// under tag when it is not "" and under its digest, which must be dgst.
// Its references need not be present yet.
func (r *Registry) PutCachedManifest(ctx context.Context, repo, tag, mediaType string, payload []byte, dgst digest.Digest) error {
	if len(payload) > MaxManifestSize {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrManifestTooLarge, len(payload), MaxManifestSize)
	}
	m, err := ParseManifest(mediaType, payload)
	if err != nil {
		return err
	}
	if err := dgst.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrDigestInvalid, err)
	}
	m.Digest = digestOf(dgst.Algorithm(), payload)
	if m.Digest != dgst {
		return fmt.Errorf("%w: manifest has digest %s, not %s", ErrDigestInvalid, m.Digest, dgst)
	}
	m.Repo = repo
	var tags []string
	if tag != "" {
		if !ValidTag(tag) {
			return fmt.Errorf("%w: %q", ErrTagInvalid, tag)
		}
		tags = []string{tag}
	}
	if err := r.meta.PutCachedManifest(ctx, m, tags); err != nil {
		if ie := immutableError(err); ie != nil {
			return ie
		}
		return fmt.Errorf("registry: put cached manifest: %w", err)
	}
	r.cachedChanged(repo)
	return nil
}

// cachedChanged tells the admission (quotas) that repo's usage grew
// without asking it.
func (r *Registry) cachedChanged(repo string) {
	if r.opts.Admission != nil {
		r.opts.Admission.Forget(repo)
	}
}

// FetchBlob writes the bytes src yields as blob dgst and links it into
// repo, returning its size: the bytes are hashed as they are written and
// become visible only once they hash to dgst (ErrDigestInvalid otherwise,
// and nothing is kept). size, when not negative, is the length announced.
func (r *Registry) FetchBlob(ctx context.Context, repo string, dgst digest.Digest, size int64, src io.Reader) (int64, error) {
	if err := dgst.Validate(); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrDigestInvalid, err)
	}
	if !dgst.Algorithm().Available() {
		return 0, fmt.Errorf("%w: %s", ErrDigestUnsupported, dgst.Algorithm())
	}
	id, err := newUploadID()
	if err != nil {
		return 0, err
	}
	w, err := r.blobs.Upload(ctx, id, -1)
	if err != nil {
		return 0, fmt.Errorf("registry: fetch blob: %w", err)
	}
	if e, ok := w.(storage.Expecter); ok && size >= 0 {
		e.Expect(size)
	}
	h := dgst.Algorithm().Hash()
	n, err := copyHashed(ctx, r.bufs, w, h, src)
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("%w: received %d bytes, announced %d", ErrSizeInvalid, n, size)
	}
	if err == nil {
		if got := digest.NewDigest(dgst.Algorithm(), h); got != dgst {
			err = fmt.Errorf("%w: content has digest %s, not %s", ErrDigestInvalid, got, dgst)
		}
	}
	if err != nil {
		if cerr := w.Cancel(context.WithoutCancel(ctx)); cerr != nil {
			r.log.WarnContext(ctx, "staged blob not removed", "digest", dgst, "err", cerr)
		}
		return 0, err
	}
	if err := w.Commit(ctx, dgst); err != nil {
		_ = w.Close()
		return 0, fmt.Errorf("registry: commit blob: %w", err)
	}
	if err := r.meta.AddBlob(ctx, repo, dgst, n); err != nil {
		return 0, fmt.Errorf("registry: record blob: %w", err)
	}
	r.cachedChanged(repo)
	return n, nil
}

// HoldsBlob reports whether the registry holds blob dgst, in any
// repository.
func (r *Registry) HoldsBlob(ctx context.Context, dgst digest.Digest) (bool, error) {
	_, err := r.meta.BlobSize(ctx, dgst)
	if errors.Is(err, metadata.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("registry: blob size: %w", err)
	}
	return true, nil
}

// Referenced reports whether a manifest in repo refers to dgst: for a
// proxy repository, the upstream served a manifest naming it there.
func (r *Registry) Referenced(ctx context.Context, repo string, dgst digest.Digest) (bool, error) {
	ok, err := r.meta.Referenced(ctx, repo, dgst)
	if err != nil {
		return false, fmt.Errorf("registry: %w", err)
	}
	return ok, nil
}

// LinkCachedBlob links into repo a blob the registry already holds (pulled
// through another repository, or pushed): ErrBlobUnknown when it holds
// none. The caller has checked that the upstream serves the blob in repo,
// so that no one reads through a cache what they could not pull upstream.
func (r *Registry) LinkCachedBlob(ctx context.Context, repo string, dgst digest.Digest) (int64, error) {
	size, err := r.meta.LinkBlob(ctx, repo, "", dgst)
	if errors.Is(err, metadata.ErrNotFound) {
		return 0, ErrBlobUnknown
	}
	if err != nil {
		return 0, fmt.Errorf("registry: link cached blob: %w", err)
	}
	return size, nil
}
