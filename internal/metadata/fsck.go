package metadata

import (
	"context"
	"database/sql"
	"errors"

	"github.com/opencontainers/go-digest"
)

// What wharf fsck reads. Every listing is keyset-paginated and each page is
// its own short read, so a check of a large registry beside a running
// server never holds one snapshot (or SQLite's WAL) open for its whole run.

// BlobRow is a row of the blobs table: bytes the database says storage holds.
type BlobRow struct {
	Digest digest.Digest
	Size   int64
}

// BlobsAfter returns up to n blob rows whose digest sorts after after, in
// byte order.
func (s *Store) BlobsAfter(ctx context.Context, after digest.Digest, n int) ([]BlobRow, error) {
	rows, err := s.read().query(ctx, "SELECT digest, size FROM blobs WHERE digest > ? ORDER BY digest LIMIT ?",
		after.String(), limit(n))
	if err != nil {
		return nil, wrap("list blobs", err)
	}
	defer rows.Close()
	var out []BlobRow
	for rows.Next() {
		var d string
		var b BlobRow
		if err := rows.Scan(&d, &b.Size); err != nil {
			return nil, wrap("list blobs", err)
		}
		b.Digest = digest.Digest(d)
		out = append(out, b)
	}
	return out, wrap("list blobs", rows.Err())
}

// BlobSize returns the size the blob row records, or ErrNotFound.
func (s *Store) BlobSize(ctx context.Context, dgst digest.Digest) (int64, error) {
	var size int64
	err := s.read().queryRow(ctx, "SELECT size FROM blobs WHERE digest = ?", dgst.String()).Scan(&size)
	if err != nil {
		return 0, wrap("blob size", notFound(err))
	}
	return size, nil
}

// BlobRepositories returns the repositories that link the blob, by name.
func (s *Store) BlobRepositories(ctx context.Context, dgst digest.Digest) ([]string, error) {
	names, err := queryStrings(ctx, s.read(), `SELECT r.name FROM repository_blobs rb
JOIN repositories r ON r.id = rb.repository_id
WHERE rb.blob_digest = ? ORDER BY r.name`, dgst.String())
	return names, wrap("blob repositories", err)
}

// StoredManifest is a manifest row with what it refers to.
type StoredManifest struct {
	ID      int64
	Repo    string
	Digest  digest.Digest
	Payload []byte
	Refs    []Ref
}

// ManifestsAfter returns up to n manifests whose id is above after, in id
// order, each with its references.
func (s *Store) ManifestsAfter(ctx context.Context, after int64, n int) ([]StoredManifest, error) {
	c := s.read()
	rows, err := c.query(ctx, `SELECT m.id, r.name, m.digest, m.payload FROM manifests m
JOIN repositories r ON r.id = m.repository_id
WHERE m.id > ? ORDER BY m.id LIMIT ?`, after, limit(n))
	if err != nil {
		return nil, wrap("list manifests", err)
	}
	var out []StoredManifest
	for rows.Next() {
		var m StoredManifest
		var d string
		if err := rows.Scan(&m.ID, &m.Repo, &d, &m.Payload); err != nil {
			rows.Close()
			return nil, wrap("list manifests", err)
		}
		m.Digest = digest.Digest(d)
		out = append(out, m)
	}
	err = errors.Join(rows.Err(), rows.Close())
	if err != nil || len(out) == 0 {
		return out, wrap("list manifests", err)
	}
	// One query for the page's references: the ids are a contiguous range
	// of the page's order, so a range covers them.
	refs, err := c.query(ctx, `SELECT manifest_id, kind, digest FROM manifest_refs
WHERE manifest_id >= ? AND manifest_id <= ? ORDER BY manifest_id, kind, digest`, out[0].ID, out[len(out)-1].ID)
	if err != nil {
		return nil, wrap("list manifest references", err)
	}
	defer refs.Close()
	byID := make(map[int64]*StoredManifest, len(out))
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	for refs.Next() {
		var id int64
		var kind, d string
		if err := refs.Scan(&id, &kind, &d); err != nil {
			return nil, wrap("list manifest references", err)
		}
		if m := byID[id]; m != nil {
			m.Refs = append(m.Refs, Ref{Kind: RefKind(kind), Digest: digest.Digest(d)})
		}
	}
	return out, wrap("list manifest references", refs.Err())
}

// HasManifest says whether repo holds the manifest.
func (s *Store) HasManifest(ctx context.Context, repo string, dgst digest.Digest) (bool, error) {
	var one int
	err := s.read().queryRow(ctx, `SELECT 1 FROM manifests m JOIN repositories r ON r.id = m.repository_id
WHERE r.name = ? AND m.digest = ?`, repo, dgst.String()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrap("has manifest", err)
}

// TagRow is a tag and the manifest it points at.
type TagRow struct {
	Repo, Tag string
	Digest    digest.Digest
}

// TagsAfter returns up to n tags that sort after (repo, tag), ordered by
// repository name then tag name.
func (s *Store) TagsAfter(ctx context.Context, repo, tag string, n int) ([]TagRow, error) {
	rows, err := s.read().query(ctx, `SELECT r.name, t.name, m.digest FROM tags t
JOIN repositories r ON r.id = t.repository_id
JOIN manifests m ON m.id = t.manifest_id
WHERE r.name > ? OR (r.name = ? AND t.name > ?)
ORDER BY r.name, t.name LIMIT ?`, repo, repo, tag, limit(n))
	if err != nil {
		return nil, wrap("list tags", err)
	}
	defer rows.Close()
	var out []TagRow
	for rows.Next() {
		var t TagRow
		var d string
		if err := rows.Scan(&t.Repo, &t.Tag, &d); err != nil {
			return nil, wrap("list tags", err)
		}
		t.Digest = digest.Digest(d)
		out = append(out, t)
	}
	return out, wrap("list tags", rows.Err())
}

// ForgetBlob removes a blob's row and every link to it, in one transaction,
// and returns the repositories that linked it: the bytes are gone or wrong,
// and without the row a client pushes them again instead of being told they
// exist. Manifests that refer to it stay (their rows name digests, not
// rows); ErrNotFound if there is no row.
func (s *Store) ForgetBlob(ctx context.Context, dgst digest.Digest) ([]string, error) {
	var repos []string
	err := s.inTx(ctx, func(c conn) error {
		var err error
		repos, err = queryStrings(ctx, c, `SELECT r.name FROM repository_blobs rb
JOIN repositories r ON r.id = rb.repository_id
WHERE rb.blob_digest = ? ORDER BY r.name`, dgst.String())
		if err != nil {
			return err
		}
		if _, err := c.exec(ctx, "DELETE FROM repository_blobs WHERE blob_digest = ?", dgst.String()); err != nil {
			return err
		}
		return affectedOne(c.exec(ctx, "DELETE FROM blobs WHERE digest = ?", dgst.String()))
	})
	if err != nil {
		return nil, wrap("forget blob", err)
	}
	return repos, nil
}

// UntagIf removes the tag only while it still points at dgst (a push may
// have moved it to a good manifest since it was read), and says whether it
// did.
func (s *Store) UntagIf(ctx context.Context, repo, tag string, dgst digest.Digest) (bool, error) {
	removed := false
	err := s.inTx(ctx, func(c conn) error {
		id, err := repoID(ctx, c, repo)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := c.exec(ctx, `DELETE FROM tags WHERE repository_id = ? AND name = ?
AND manifest_id IN (SELECT id FROM manifests WHERE repository_id = ? AND digest = ?)`, id, tag, id, dgst.String())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		removed = true
		return bumpTagVersion(ctx, c, id)
	})
	return removed, wrap("untag", err)
}

// BlobTotals returns the number of blob rows and the bytes they record.
func (s *Store) BlobTotals(ctx context.Context) (n, bytes int64, err error) {
	err = s.read().queryRow(ctx, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM blobs").Scan(&n, &bytes)
	return n, bytes, wrap("blob totals", err)
}
