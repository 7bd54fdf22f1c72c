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
