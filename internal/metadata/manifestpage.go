package metadata

import (
	"context"
	"database/sql"
	"slices"

	"github.com/opencontainers/go-digest"
)

// ManifestPayloads returns the manifests of repo among digests, keyed by
// digest, with their payloads but not their references (what a page of
// tags shows: sizes and platforms are in the payload): one query per
// chunk of digests rather than two per manifest. Digests repo does not
// hold are left out.
func (s *Store) ManifestPayloads(ctx context.Context, repo string, digests []digest.Digest) (map[digest.Digest]*Manifest, error) {
	out := make(map[digest.Digest]*Manifest, len(digests))
	c := s.read()
	for chunk := range slices.Chunk(digests, s.inList()) {
		q := `SELECT m.digest, m.media_type, m.artifact_type, m.size, m.payload, m.subject, m.created_at
FROM manifests m JOIN repositories r ON r.id = m.repository_id
WHERE r.name = ? AND m.digest IN (` + idList(len(chunk)) + `)`
		args := []any{repo}
		for _, d := range chunk {
			args = append(args, d.String())
		}
		if err := c.queryDynamic(ctx, q, args, func(r *sql.Rows) error {
			var (
				m       = &Manifest{Repo: repo}
				d       string
				subject sql.NullString
				created int64
			)
			if err := r.Scan(&d, &m.MediaType, &m.ArtifactType, &m.Size, &m.Payload, &subject, &created); err != nil {
				return err
			}
			m.Digest, m.Subject, m.CreatedAt = digest.Digest(d), digest.Digest(subject.String), fromUnixNano(created)
			out[m.Digest] = m
			return nil
		}); err != nil {
			return nil, wrap("manifest payloads", err)
		}
	}
	return out, nil
}

// TagPageQuery chooses a page of a repository's tags: sorted by name or by
// update time (then name), ascending or not, Limit of them after Offset.
type TagPageQuery struct {
	ByUpdated, Desc bool
	Offset, Limit   int
}

// tagPageQueries are TagPage's four orders, each walking an index: the
// primary key (repository_id, name) or tags_updated (repository_id,
// updated_at).
var tagPageQueries = func() map[[2]bool]string {
	const head = `SELECT t.name, m.digest, t.updated_at FROM tags t
JOIN manifests m ON m.id = t.manifest_id
WHERE t.repository_id = ? ORDER BY `
	return map[[2]bool]string{
		{false, false}: head + `t.name LIMIT ? OFFSET ?`,
		{false, true}:  head + `t.name DESC LIMIT ? OFFSET ?`,
		{true, false}:  head + `t.updated_at, t.name LIMIT ? OFFSET ?`,
		{true, true}:   head + `t.updated_at DESC, t.name DESC LIMIT ? OFFSET ?`,
	}
}()

// TagPage returns a page of repo's tags with their digests, and how many
// tags repo has; ErrNotFound when the repository does not exist.
func (s *Store) TagPage(ctx context.Context, repo string, q TagPageQuery) ([]TagInfo, int64, error) {
	c := s.read()
	id, err := repoID(ctx, c, repo)
	if err != nil {
		return nil, 0, wrap("tag page", err)
	}
	var total int64
	if err := c.queryRow(ctx, `SELECT COUNT(*) FROM tags WHERE repository_id = ?`, id).Scan(&total); err != nil {
		return nil, 0, wrap("tag page", err)
	}
	rows, err := c.query(ctx, tagPageQueries[[2]bool{q.ByUpdated, q.Desc}], id, limit(q.Limit), max(q.Offset, 0))
	if err != nil {
		return nil, 0, wrap("tag page", err)
	}
	tags, err := scanTagInfos(rows)
	return tags, total, wrap("tag page", err)
}
