package metadata

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"
)

// The queries of a manifest GET or HEAD: one statement each, so a pull
// costs one read of the database, not three.
const (
	lookupByDigestQuery = `SELECT m.digest, m.media_type, m.size%s
FROM manifests m
JOIN repositories r ON r.id = m.repository_id
WHERE r.name = ? AND m.digest = ?`

	lookupByTagQuery = `SELECT m.digest, m.media_type, m.size%s
FROM repositories r
JOIN tags t ON t.repository_id = r.id
JOIN manifests m ON m.id = t.manifest_id
WHERE r.name = ? AND t.name = ?`
)

var (
	// lookupTagged adds the repository's version (RepoVersion) to a
	// lookup by tag, for the registry's manifest cache: read in the same
	// statement, it is the version the manifest was read at.
	lookupTagged        = fmt.Sprintf(lookupByTagQuery, ", r.id, r.created_at, r.tag_version")
	lookupTaggedPayload = fmt.Sprintf(lookupByTagQuery, ", r.id, r.created_at, r.tag_version, m.payload")

	lookupByDigest        = fmt.Sprintf(lookupByDigestQuery, "")
	lookupByDigestPayload = fmt.Sprintf(lookupByDigestQuery, ", m.payload")
	lookupByTag           = fmt.Sprintf(lookupByTagQuery, "")
	lookupByTagPayload    = fmt.Sprintf(lookupByTagQuery, ", m.payload")
)

// LookupManifest returns what serving a manifest needs, in one query: its
// digest, media type and size, and its payload when withPayload is set (a
// HEAD does without). Exactly one of tag and dgst names the manifest. The
// other fields of the result stay empty; GetManifest returns them all.
// A missing repository, tag or manifest is ErrNotFound.
func (s *Store) LookupManifest(ctx context.Context, repo, tag string, dgst digest.Digest, withPayload bool) (*Manifest, error) {
	query, key := lookupByDigest, dgst.String()
	switch {
	case tag != "" && withPayload:
		query, key = lookupByTagPayload, tag
	case tag != "":
		query, key = lookupByTag, tag
	case withPayload:
		query = lookupByDigestPayload
	}
	m := &Manifest{Repo: repo}
	var d string
	dest := []any{&d, &m.MediaType, &m.Size}
	if withPayload {
		dest = append(dest, &m.Payload)
	}
	if err := s.read().queryRow(ctx, query, repo, key).Scan(dest...); err != nil {
		return nil, wrap("lookup manifest", notFound(err))
	}
	m.Digest = digest.Digest(d)
	return m, nil
}

// RepoVersion names one state of a repository's tags: its row (id and
// creation time, so that a repository deleted and created again under the
// same id is another) and its tag_version, which every change to its tags
// bumps in the transaction that makes it. While a repository's RepoVersion
// stays the same, every tag names the manifest it named.
type RepoVersion struct {
	ID, Created, Tags int64
}

// RepositoryVersion reads the RepoVersion of repo: one indexed row, read by
// every process that shares the database, so a cache keyed by it sees a
// change by another replica or by the CLI at the next read. A missing
// repository is ErrNotFound.
func (s *Store) RepositoryVersion(ctx context.Context, repo string) (RepoVersion, error) {
	var v RepoVersion
	err := s.read().queryRow(ctx, "SELECT id, created_at, tag_version FROM repositories WHERE name = ?", repo).Scan(&v.ID, &v.Created, &v.Tags)
	return v, wrap("repository version", notFound(err))
}

// LookupTagged is LookupManifest by tag that also returns the repository's
// version the manifest was read at, in the same single query.
func (s *Store) LookupTagged(ctx context.Context, repo, tag string, withPayload bool) (*Manifest, RepoVersion, error) {
	query := lookupTagged
	m := &Manifest{Repo: repo}
	var (
		d string
		v RepoVersion
	)
	dest := []any{&d, &m.MediaType, &m.Size, &v.ID, &v.Created, &v.Tags}
	if withPayload {
		query = lookupTaggedPayload
		dest = append(dest, &m.Payload)
	}
	if err := s.read().queryRow(ctx, query, repo, tag).Scan(dest...); err != nil {
		return nil, RepoVersion{}, wrap("lookup manifest", notFound(err))
	}
	m.Digest = digest.Digest(d)
	return m, v, nil
}
