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

	listRepositoriesQuery = `SELECT r.name FROM repositories r
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
	return wrap("delete tag", affectedOne(s.read().exec(ctx, `DELETE FROM tags
WHERE repository_id = (SELECT id FROM repositories WHERE name = ?) AND name = ?`, repo, tag)))
}

// ListTags returns up to n tags of repo (all when n <= 0) that sort after
// last, in byte order. It returns ErrNotFound when the repository does not
// exist and an empty slice when it has no tags.
func (s *Store) ListTags(ctx context.Context, repo, last string, n int) ([]string, error) {
	c := s.read()
	if s.d.joinLines != nil {
		// One statement, one row: the repository's existence and the page.
		var joined sql.NullString
		q := "SELECT (SELECT " + s.d.joinLines("name") + " FROM (" + listTagsQuery + ") AS page) FROM repositories WHERE name = ?"
		if err := c.queryRow(ctx, strings.Replace(q, "repository_id = ?", "repository_id = repositories.id", 1), last, limit(n), repo).Scan(&joined); err != nil {
			return nil, wrap("list tags", notFound(err))
		}
		return splitLines(joined), nil
	}
	id, err := repoID(ctx, c, repo)
	if err != nil {
		return nil, wrap("list tags", err)
	}
	tags, err := queryStrings(ctx, c, listTagsQuery, id, last, limit(n))
	return tags, wrap("list tags", err)
}

// ListRepositories returns up to n repositories (all when n <= 0) that sort
// after last and hold at least one manifest, in byte order.
func (s *Store) ListRepositories(ctx context.Context, last string, n int) ([]string, error) {
	if s.d.joinLines != nil {
		var joined sql.NullString
		q := "SELECT " + s.d.joinLines("name") + " FROM (" + listRepositoriesQuery + ") AS page"
		if err := s.read().queryRow(ctx, strings.Replace(q, "SELECT r.name", "SELECT r.name AS name", 1), last, limit(n)).Scan(&joined); err != nil {
			return nil, wrap("list repositories", err)
		}
		return splitLines(joined), nil
	}
	repos, err := queryStrings(ctx, s.read(), listRepositoriesQuery, last, limit(n))
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
