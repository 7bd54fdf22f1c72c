package metadata

import (
	"context"
	"database/sql"
	"strings"

	"github.com/opencontainers/go-digest"
)

// The read queries on hot paths; the tests check their query plans.
const (
	resolveTagQuery = `SELECT m.digest
FROM repositories r
JOIN tags t ON t.repository_id = r.id
JOIN manifests m ON m.id = t.manifest_id
WHERE r.name = ? AND t.name = ?`

	// Keyset pagination: the primary key (repository_id, name) is walked
	// from last, whatever the page number.
	listTagsQuery = `SELECT name FROM tags
WHERE repository_id = ? AND name > ?
ORDER BY name LIMIT ?`

	listRepositoriesQuery = `SELECT r.name AS name FROM repositories r
WHERE r.name > ? AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)
ORDER BY r.name LIMIT ?`
)

// ResolveTag returns the digest the tag points at, or ErrNotFound.
func (s *Store) ResolveTag(ctx context.Context, repo, tag string) (digest.Digest, error) {
	var d string
	err := s.read().queryRow(ctx, resolveTagQuery, repo, tag).Scan(&d)
	if err != nil {
		return "", wrap("resolve tag", notFound(err))
	}
	return digest.Digest(d), nil
}

// DeleteTag removes the tag, or returns ErrNotFound. The manifest stays.
func (s *Store) DeleteTag(ctx context.Context, repo, tag string) error {
	return wrap("delete tag", s.inTx(ctx, func(c conn) error {
		id, err := repoID(ctx, c, repo)
		if err != nil {
			return err
		}
		if rule, frozen := s.immutable(repo, tag); frozen {
			if d := currentDigest(ctx, c, id, tag); d != "" {
				return &ImmutableTagError{Repo: repo, Tag: tag, Rule: rule, Current: d, Delete: true}
			}
		}
		if err := affectedOne(c.exec(ctx, "DELETE FROM tags WHERE repository_id = ? AND name = ?", id, tag)); err != nil {
			return err
		}
		return bumpTagVersion(ctx, c, id)
	}))
}

// bumpTagVersion records a change to a repository's tags, in the
// transaction that makes it.
func bumpTagVersion(ctx context.Context, c conn, repoID int64) error {
	_, err := c.exec(ctx, "UPDATE repositories SET tag_version = tag_version + 1 WHERE id = ?", repoID)
	return err
}

// ListTags returns up to n tags of repo (all when n <= 0) that sort after
// last, in byte order. It returns ErrNotFound when the repository does not
// exist and an empty slice when it has no tags.
//
// The complete list of a repository is kept in memory (tagCache) and
// served from there while the repository's tag_version stays the same, so a
// listing or a walk of all pages costs one indexed read each.
func (s *Store) ListTags(ctx context.Context, repo, last string, n int) ([]string, error) {
	c := s.read()
	var (
		row     repoRow
		version int64
	)
	err := c.queryRow(ctx, "SELECT id, created_at, tag_version FROM repositories WHERE name = ?", repo).Scan(&row.id, &row.created, &version)
	if err != nil {
		return nil, wrap("list tags", notFound(err))
	}
	id := row.id
	if all := s.tags.get(repo, row, version); all != nil {
		return pageAfter(all, last, n), nil
	}
	// Read after the version: a change in between makes the list newer than
	// its version says, which the next call then reloads.
	all, err := s.readTags(ctx, c, id, "", maxCachedTagsPerRepo+1)
	if err != nil {
		return nil, wrap("list tags", err)
	}
	if len(all) > maxCachedTagsPerRepo {
		tags, err := s.readTags(ctx, c, id, last, limit(n))
		return tags, wrap("list tags", err)
	}
	s.tags.put(repo, row, version, all)
	return pageAfter(all, last, n), nil
}

// readTags reads up to n tags (n from limit) of the repository with id
// that sort after last.
func (s *Store) readTags(ctx context.Context, c conn, id int64, last string, n int64) ([]string, error) {
	return s.queryNames(ctx, c, listTagsQuery, id, last, n)
}

// queryNames returns the "name" column of a listing query: as one
// aggregated row where the dialect can join lines (no per-row cost), else
// row by row. Never nil on success.
func (s *Store) queryNames(ctx context.Context, c conn, query string, args ...any) ([]string, error) {
	if s.d.joinLines == nil {
		return queryStrings(ctx, c, query, args...)
	}
	var joined sql.NullString
	q := "SELECT " + s.d.joinLines("name") + " FROM (" + query + ") AS page"
	if err := c.queryRow(ctx, q, args...).Scan(&joined); err != nil {
		return nil, err
	}
	return splitLines(joined), nil
}

// ListRepositories returns up to n repositories (all when n <= 0) that sort
// after last and hold at least one manifest, in byte order.
func (s *Store) ListRepositories(ctx context.Context, last string, n int) ([]string, error) {
	repos, err := s.queryNames(ctx, s.read(), listRepositoriesQuery, last, limit(n))
	return repos, wrap("list repositories", err)
}

// splitLines undoes dialect.joinLines; names and tags never hold a newline.
func splitLines(joined sql.NullString) []string {
	if !joined.Valid || joined.String == "" {
		return []string{}
	}
	return strings.Split(joined.String, "\n")
}

// queryStrings returns the single text column of a query, never nil on success.
func queryStrings(ctx context.Context, c conn, query string, args ...any) ([]string, error) {
	rows, err := c.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
