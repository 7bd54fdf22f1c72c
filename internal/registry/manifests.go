package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// PushResult is what a manifest push stored.
type PushResult struct {
	Digest    digest.Digest
	MediaType string
	Subject   digest.Digest // "" when the manifest has no subject
	Tags      []string      // every tag now pointing at Digest
}

// PutManifest validates and stores a manifest under reference (a tag or a
// digest) plus extra tags, in one transaction, after checking that every
// blob and child manifest it references exists in repo.
func (r *Registry) PutManifest(ctx context.Context, repo, reference, contentType string, payload []byte, extraTags []string) (PushResult, error) {
	if len(payload) > MaxManifestSize {
		return PushResult{}, fmt.Errorf("%w: %d bytes, the limit is %d", ErrManifestTooLarge, len(payload), MaxManifestSize)
	}
	m, err := ParseManifest(contentType, payload)
	if err != nil {
		return PushResult{}, err
	}
	var tags []string
	alg := digest.Canonical
	if isDigestLike(reference) {
		d, err := ParseDigest(reference)
		if err != nil {
			return PushResult{}, err
		}
		alg = d.Algorithm()
		m.Digest = digestOf(alg, payload)
		if m.Digest != d {
			return PushResult{}, fmt.Errorf("%w: manifest has digest %s, the URL names %s", ErrDigestInvalid, m.Digest, d)
		}
	} else {
		if !ValidTag(reference) {
			return PushResult{}, fmt.Errorf("%w: %q", ErrTagInvalid, reference)
		}
		tags = append(tags, reference)
		m.Digest = digestOf(alg, payload)
	}
	for _, t := range extraTags {
		if !ValidTag(t) {
			return PushResult{}, fmt.Errorf("%w: %q", ErrTagInvalid, t)
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	m.Repo = repo
	err = r.putAdmitted(ctx, m, tags)
	if errors.Is(err, ErrDenied) {
		return PushResult{}, err
	}
	var cached *metadata.CachedRepositoryError
	if errors.As(err, &cached) {
		return PushResult{}, deniedError{cached}
	}
	var missing *metadata.MissingReferenceError
	if errors.As(err, &missing) {
		return PushResult{}, fmt.Errorf("%w: %s %s is not in %s; push it first", ErrManifestBlobUnknown, missing.Kind, missing.Digest, repo)
	}
	if ie := immutableError(err); ie != nil {
		return PushResult{}, ie
	}
	if err != nil {
		return PushResult{}, fmt.Errorf("registry: put manifest: %w", err)
	}
	return PushResult{Digest: m.Digest, MediaType: m.MediaType, Subject: m.Subject, Tags: tags}, nil
}

// isDigestLike tells a reference that is meant as a digest (it has the
// algorithm separator, which tags cannot contain) from a tag.
func isDigestLike(reference string) bool { return strings.Contains(reference, ":") }

// GetManifest returns the manifest a tag or digest names in repo.
func (r *Registry) GetManifest(ctx context.Context, repo, reference string) (*metadata.Manifest, error) {
	dgst, err := r.resolve(ctx, repo, reference)
	if err != nil {
		return nil, err
	}
	m, err := r.meta.GetManifest(ctx, repo, dgst)
	if errors.Is(err, metadata.ErrNotFound) {
		return nil, ErrManifestUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("registry: get manifest: %w", err)
	}
	return m, nil
}

// ServeManifest returns what a GET (withPayload) or HEAD of a manifest by
// tag or digest needs — digest, media type, size and payload — in one
// read of the metadata: by tag, of the repository's version alone when
// the manifest cache holds the tag at that version. The caller must not
// change the result.
func (r *Registry) ServeManifest(ctx context.Context, repo, reference string, withPayload bool) (*metadata.Manifest, error) {
	tag, dgst, err := splitReference(reference)
	if err != nil {
		return nil, err
	}
	m, err := r.lookupManifest(ctx, repo, tag, dgst, withPayload)
	if errors.Is(err, metadata.ErrNotFound) {
		return nil, ErrManifestUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("registry: get manifest: %w", err)
	}
	// For retention; batched in memory by the store. A HEAD counts:
	// containerd (and docker with it) resolves a tag with a HEAD, then
	// GETs the digest.
	r.meta.RecordPull(repo, tag, m.Digest)
	return m, nil
}

// lookupManifest is LookupManifest through the manifest cache for a tag.
// On SQLite, an entry stamped with the current change generation holds
// (nothing was committed since it was read), and a miss costs the one
// query it cost without a cache, which also reads the repository's
// version. Elsewhere, the repository's version is read first and the entry
// holds while it stays. Each stamp is read before what it vouches for: a
// change committed in between makes the entry newer than its stamp says,
// and the next request, at a new stamp, reads again.
func (r *Registry) lookupManifest(ctx context.Context, repo, tag string, dgst digest.Digest, withPayload bool) (*metadata.Manifest, error) {
	if tag == "" {
		return r.meta.LookupManifest(ctx, repo, tag, dgst, withPayload)
	}
	gen, watched, err := r.meta.ChangeGeneration(ctx)
	if err != nil {
		return nil, err
	}
	if watched {
		if m := r.manifests.current(repo, tag, gen, withPayload); m != nil {
			return m, nil
		}
	} else {
		ver, err := r.meta.RepositoryVersion(ctx, repo)
		if err != nil {
			return nil, err
		}
		if m := r.manifests.get(repo, tag, ver, withPayload); m != nil {
			return m, nil
		}
	}
	m, ver, err := r.meta.LookupTagged(ctx, repo, tag, withPayload)
	if err != nil {
		return nil, err
	}
	r.manifests.put(repo, tag, ver, gen, m)
	return m, nil
}

// splitReference reads a manifest reference as a tag or as a digest.
func splitReference(reference string) (tag string, dgst digest.Digest, err error) {
	if isDigestLike(reference) {
		dgst, err = ParseDigest(reference)
		return "", dgst, err
	}
	if !ValidTag(reference) {
		return "", "", fmt.Errorf("%w: %q", ErrTagInvalid, reference)
	}
	return reference, "", nil
}

func (r *Registry) resolve(ctx context.Context, repo, reference string) (digest.Digest, error) {
	if isDigestLike(reference) {
		return ParseDigest(reference)
	}
	if !ValidTag(reference) {
		return "", fmt.Errorf("%w: %q", ErrTagInvalid, reference)
	}
	d, err := r.meta.ResolveTag(ctx, repo, reference)
	if errors.Is(err, metadata.ErrNotFound) {
		return "", ErrManifestUnknown
	}
	if err != nil {
		return "", fmt.Errorf("registry: resolve tag: %w", err)
	}
	return d, nil
}

// DeleteManifest deletes a manifest (by digest, with every tag pointing at
// it) or just a tag.
func (r *Registry) DeleteManifest(ctx context.Context, repo, reference string) error {
	var err error
	if isDigestLike(reference) {
		var d digest.Digest
		if d, err = ParseDigest(reference); err != nil {
			return err
		}
		if err = r.meta.DeleteManifest(ctx, repo, d); err == nil && r.opts.Admission != nil {
			r.opts.Admission.Forget(repo)
		}
	} else {
		if !ValidTag(reference) {
			return fmt.Errorf("%w: %q", ErrTagInvalid, reference)
		}
		err = r.meta.DeleteTag(ctx, repo, reference)
	}
	if errors.Is(err, metadata.ErrNotFound) {
		return ErrManifestUnknown
	}
	if ie := immutableError(err); ie != nil {
		return ie
	}
	if err != nil {
		return fmt.Errorf("registry: delete manifest: %w", err)
	}
	return nil
}

// Tags lists repo's tags in order, after last, at most n (n <= 0: all).
func (r *Registry) Tags(ctx context.Context, repo, last string, n int) ([]string, error) {
	tags, err := r.meta.ListTags(ctx, repo, last, n)
	if errors.Is(err, metadata.ErrNotFound) {
		return nil, ErrNameUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("registry: list tags: %w", err)
	}
	return tags, nil
}

// Catalog lists repositories in order, after last, at most n (n <= 0: all).
func (r *Registry) Catalog(ctx context.Context, last string, n int) ([]string, error) {
	repos, err := r.meta.ListRepositories(ctx, last, n)
	if err != nil {
		return nil, fmt.Errorf("registry: catalog: %w", err)
	}
	return repos, nil
}

// ReferrersPageBytes bounds the descriptors of one referrers page: the
// page is an image index, and clients read it as a manifest, which they
// and every registry cap at MaxManifestSize. The rest of the index (its
// schemaVersion, mediaType and brackets) fits in the margin.
const ReferrersPageBytes = MaxManifestSize - 1024

// Referrers lists the manifests in repo whose subject is dgst, in digest
// order, optionally only those of one artifact type: at most n after the
// digest last (n <= 0: no bound on the count), and at most
// ReferrersPageBytes of descriptors. more says whether another page
// follows.
func (r *Registry) Referrers(ctx context.Context, repo string, dgst digest.Digest, artifactType string, last digest.Digest, n int) (refs []metadata.Descriptor, more bool, err error) {
	refs, more, err = r.meta.Referrers(ctx, repo, dgst, metadata.ReferrersPage{
		ArtifactType: artifactType, After: last, Limit: n, MaxBytes: ReferrersPageBytes,
	})
	if err != nil {
		return nil, false, fmt.Errorf("registry: referrers: %w", err)
	}
	return refs, more, nil
}
