package metadata

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// RepositoryStats is what a repository holds and when it last changed.
type RepositoryStats struct {
	Name      string `json:"name"`
	Tags      int64  `json:"tags"`
	Manifests int64  `json:"manifests"`
	// Bytes is the repository's deduplicated size: the distinct blobs its
	// manifests refer to plus the manifests' own payloads. Blobs linked
	// but referred to by no manifest are not counted: garbage collection
	// reclaims them.
	Bytes int64 `json:"bytes"`
	// LastPush is the newest manifest push or tag change.
	LastPush time.Time `json:"last_push"`
	// LastPull is the last pull of one of its manifests (by tag or
	// digest), recorded in batches every few seconds; zero for never.
	LastPull time.Time `json:"last_pull,omitzero"`
}

// TagInfo is one tag and the manifest it points at.
type TagInfo struct {
	Name      string        `json:"name"`
	Digest    digest.Digest `json:"digest"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// The queries behind repository listings. Every aggregate is indexed:
// tags by their primary key, manifests by (repository_id, digest), refs by
// their primary key (manifest_id, kind, digest) and blobs by digest, so a
// page costs what its repositories hold, never the whole registry.
const (
	// The page of names: byte order from after, within [prefix, upper).
	repoStatsColumns = `SELECT r.id, r.name,
(SELECT COUNT(*) FROM tags t WHERE t.repository_id = r.id),
(SELECT COUNT(*) FROM manifests m WHERE m.repository_id = r.id),
COALESCE((SELECT MAX(m.created_at) FROM manifests m WHERE m.repository_id = r.id), 0),
COALESCE((SELECT MAX(t.updated_at) FROM tags t WHERE t.repository_id = r.id), 0),
COALESCE((SELECT MAX(m.pulled_at) FROM manifests m WHERE m.repository_id = r.id), 0)
FROM repositories r `
	repoPageWhere = `WHERE r.name > ? AND r.name >= ? AND r.name < ?
AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)
ORDER BY r.name LIMIT ?`
	repoPageQuery = repoStatsColumns + repoPageWhere
	// repoNamesQuery is repoPageQuery's page of names alone.
	repoNamesQuery = `SELECT r.name FROM repositories r ` + repoPageWhere

	repoTagsQuery = `SELECT t.name, m.digest, t.updated_at
FROM repositories r
JOIN tags t ON t.repository_id = r.id
JOIN manifests m ON m.id = t.manifest_id
WHERE r.name = ?
ORDER BY t.name`
)

// usageUnion is the distinct (digest, size) pairs counted in the usage of
// the repositories whose ids fill its "%[1]s" lists: the blobs their
// manifests refer to, and the manifests themselves. UNION removes the
// duplicates, so a layer shared by two of them counts once.
const usageUnion = `SELECT b.digest, b.size FROM blobs b
WHERE b.digest IN (SELECT mr.digest FROM manifest_refs mr JOIN manifests m ON m.id = mr.manifest_id
WHERE mr.kind = 'blob' AND m.repository_id IN (%[1]s))
UNION
SELECT m.digest, m.size FROM manifests m WHERE m.repository_id IN (%[1]s)`

// repoBytesQuery is usageUnion per repository: the size of each of the
// repositories whose ids fill its lists.
const repoBytesQuery = `SELECT u.repository_id, SUM(u.size) FROM (
SELECT m.repository_id, b.digest, b.size FROM manifests m
JOIN manifest_refs mr ON mr.manifest_id = m.id AND mr.kind = 'blob'
JOIN blobs b ON b.digest = mr.digest
WHERE m.repository_id IN (%[1]s)
UNION
SELECT m.repository_id, m.digest, m.size FROM manifests m WHERE m.repository_id IN (%[1]s)
) u GROUP BY u.repository_id`

// blobsHeldQuery returns those of the blobs in its first list that a
// manifest of the repositories in its second refers to. EXISTS stops at
// the first reference: a base layer has one per image.
const blobsHeldQuery = `SELECT b.digest FROM blobs b WHERE b.digest IN (%s)
AND EXISTS (SELECT 1 FROM manifest_refs mr JOIN manifests m ON m.id = mr.manifest_id
WHERE mr.digest = b.digest AND mr.kind = 'blob' AND m.repository_id IN (%s))`

// maxPrefixRune bounds a prefix range: every valid UTF-8 name starting
// with prefix sorts below prefix+maxPrefixRune (byte order).
const maxPrefixRune = "\U0010FFFF"

// RepositoryStats returns up to n repositories (all when n <= 0) whose
// name starts with prefix, sorts after last and that hold at least one
// manifest, in byte order, with their sizes.
func (s *Store) RepositoryStats(ctx context.Context, prefix, last string, n int) ([]RepositoryStats, error) {
	c := s.read()
	out, ids, err := scanRepositoryStats(ctx, c, repoPageQuery, last, prefix, prefix+maxPrefixRune, limit(n))
	if err == nil {
		err = s.addRepositoryBytes(ctx, c, out, ids)
	}
	if err != nil {
		return nil, wrap("repository stats", err)
	}
	return out, nil
}

// RepositoryNames returns the names RepositoryStats would list, without
// their stats: a caller that keeps only some of them (the web interface
// asks the ACL about each) then asks RepositoryStatsOf for those alone.
func (s *Store) RepositoryNames(ctx context.Context, prefix, last string, n int) ([]string, error) {
	rows, err := s.read().query(ctx, repoNamesQuery, last, prefix, prefix+maxPrefixRune, limit(n))
	if err != nil {
		return nil, wrap("repository names", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, wrap("repository names", err)
		}
		out = append(out, name)
	}
	return out, wrap("repository names", rows.Err())
}

// RepositoryStatsOf returns the stats of the named repositories that hold
// a manifest, in byte order of their names: a few queries for the whole
// list, not one per name.
func (s *Store) RepositoryStatsOf(ctx context.Context, names []string) ([]RepositoryStats, error) {
	c := s.read()
	var (
		out []RepositoryStats
		ids []int64
	)
	for chunk := range slices.Chunk(names, s.inList()) {
		q := repoStatsColumns + `WHERE r.name IN (` + idList(len(chunk)) + `)
AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id) ORDER BY r.name`
		// An IN list of its own length: outside the statement cache.
		if err := c.queryDynamic(ctx, q, anys(chunk), func(r *sql.Rows) error {
			st, id, err := scanStatsRow(r)
			out, ids = append(out, st), append(ids, id)
			return err
		}); err != nil {
			return nil, wrap("repository stats", err)
		}
	}
	if err := s.addRepositoryBytes(ctx, c, out, ids); err != nil {
		return nil, wrap("repository stats", err)
	}
	slices.SortFunc(out, func(a, b RepositoryStats) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// scanRepositoryStats runs the constant query q of repoStatsColumns and
// returns its rows, without their bytes, and their ids.
func scanRepositoryStats(ctx context.Context, c conn, q string, args ...any) ([]RepositoryStats, []int64, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	out := []RepositoryStats{}
	var ids []int64
	for rows.Next() {
		st, id, err := scanStatsRow(rows)
		if err != nil {
			return nil, nil, err
		}
		out, ids = append(out, st), append(ids, id)
	}
	return out, ids, rows.Err()
}

// scanStatsRow reads a row of repoStatsColumns.
func scanStatsRow(r *sql.Rows) (RepositoryStats, int64, error) {
	var (
		st                        RepositoryStats
		id, created, tags, pulled int64
	)
	err := r.Scan(&id, &st.Name, &st.Tags, &st.Manifests, &created, &tags, &pulled)
	st.LastPush = fromUnixNano(max(created, tags))
	if pulled > 0 {
		st.LastPull = fromUnixNano(pulled)
	}
	return st, id, err
}

// addRepositoryBytes fills the sizes of out (whose ids are ids): grouped
// queries, a chunk of repositories each.
func (s *Store) addRepositoryBytes(ctx context.Context, c conn, out []RepositoryStats, ids []int64) error {
	bytes := map[int64]int64{}
	for chunk := range slices.Chunk(ids, s.inList()) {
		q := fmt.Sprintf(repoBytesQuery, idList(len(chunk)))
		if err := c.queryDynamic(ctx, q, append(anys(chunk), anys(chunk)...), func(r *sql.Rows) error {
			var id, b int64
			if err := r.Scan(&id, &b); err != nil {
				return err
			}
			bytes[id] = b
			return nil
		}); err != nil {
			return err
		}
	}
	for i, id := range ids {
		out[i].Bytes = bytes[id]
	}
	return nil
}

// Usage returns the deduplicated size of the named repositories together
// (see RepositoryStats.Bytes): a blob or manifest in several of them counts
// once. Names that are not repositories count nothing.
func (s *Store) Usage(ctx context.Context, repos []string) (int64, error) {
	ids, err := s.repoIDs(ctx, repos)
	if err != nil || len(ids) == 0 {
		return 0, wrap("usage", err)
	}
	c := s.read()
	if len(ids) <= s.inList() {
		// The common case: the database sums the distinct pairs.
		q := "SELECT COALESCE(SUM(u.size), 0) FROM (" + fmt.Sprintf(usageUnion, idList(len(ids))) + ") u"
		var total int64
		err = c.queryDynamic(ctx, q, append(anys(ids), anys(ids)...), func(r *sql.Rows) error {
			return r.Scan(&total)
		})
		return total, wrap("usage", err)
	}
	// More repositories than one statement may name: the distinct pairs of
	// each chunk, deduplicated here across chunks.
	seen := map[string]int64{}
	for chunk := range slices.Chunk(ids, s.inList()) {
		if err := c.queryDynamic(ctx, fmt.Sprintf(usageUnion, idList(len(chunk))), append(anys(chunk), anys(chunk)...), func(r *sql.Rows) error {
			var (
				d    string
				size int64
			)
			if err := r.Scan(&d, &size); err != nil {
				return err
			}
			seen[d] = size
			return nil
		}); err != nil {
			return 0, wrap("usage", err)
		}
	}
	var total int64
	for _, size := range seen {
		total += size
	}
	return total, nil
}

// AddedBytes returns how much storing m would add to the usage of repos
// (which should include m.Repo): the blobs m refers to that no manifest of
// repos refers to yet, plus m's own size unless one of repos holds m
// already. A child manifest of an index is already in m.Repo, so it adds
// nothing. References to unknown blobs count nothing here: PutManifest
// refuses them.
func (s *Store) AddedBytes(ctx context.Context, repos []string, m *Manifest) (int64, error) {
	ids, err := s.repoIDs(ctx, repos)
	if err != nil {
		return 0, wrap("added bytes", err)
	}
	var blobs []any
	for _, r := range m.Refs {
		if r.Kind == RefBlob && !slices.Contains(blobs, any(r.Digest.String())) {
			blobs = append(blobs, r.Digest.String())
		}
	}
	c := s.read()
	// What the repositories hold already, a chunk of them at a time: m
	// itself, and m's blobs some manifest of theirs refers to.
	held := map[string]bool{}
	collect := func(r *sql.Rows) error {
		var d string
		if err := r.Scan(&d); err != nil {
			return err
		}
		held[d] = true
		return nil
	}
	for chunk := range slices.Chunk(ids, s.inList()) {
		q := fmt.Sprintf("SELECT m.digest FROM manifests m WHERE m.digest = ? AND m.repository_id IN (%s)", idList(len(chunk)))
		if err := c.queryDynamic(ctx, q, append([]any{m.Digest.String()}, anys(chunk)...), collect); err != nil {
			return 0, wrap("added bytes", err)
		}
		for bc := range slices.Chunk(blobs, s.inList()) {
			q := fmt.Sprintf(blobsHeldQuery, idList(len(bc)), idList(len(chunk)))
			if err := c.queryDynamic(ctx, q, append(slices.Clone(bc), anys(chunk)...), collect); err != nil {
				return 0, wrap("added bytes", err)
			}
		}
	}
	var added int64
	if !held[m.Digest.String()] {
		added = m.Size
	}
	for bc := range slices.Chunk(blobs, s.inList()) {
		if err := c.queryDynamic(ctx, fmt.Sprintf("SELECT digest, size FROM blobs WHERE digest IN (%s)", idList(len(bc))), bc, func(r *sql.Rows) error {
			var (
				d    string
				size int64
			)
			if err := r.Scan(&d, &size); err != nil {
				return err
			}
			if !held[d] {
				added += size
			}
			return nil
		}); err != nil {
			return 0, wrap("added bytes", err)
		}
	}
	return added, nil
}

// repoIDs returns the ids of those of names that exist.
func (s *Store) repoIDs(ctx context.Context, names []string) ([]int64, error) {
	var ids []int64
	for chunk := range slices.Chunk(names, s.inList()) {
		q := fmt.Sprintf("SELECT id FROM repositories WHERE name IN (%s)", idList(len(chunk)))
		if err := s.read().queryDynamic(ctx, q, anys(chunk), func(r *sql.Rows) error {
			var id int64
			if err := r.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// maxInList bounds the names or ids one statement lists, so that a
// statement's bound parameters (twice that at most) stay well under every
// database's limit (SQLite's is 32766). Store.inList is it, but in tests.
const maxInList = 1000

// inList is how many names or ids one statement lists.
func (s *Store) inList() int {
	if s.chunk > 0 {
		return s.chunk
	}
	return maxInList
}

// RepositoryTags returns every tag of repo with its digest, in byte order,
// or ErrNotFound when the repository does not exist.
func (s *Store) RepositoryTags(ctx context.Context, repo string) ([]TagInfo, error) {
	c := s.read()
	if _, err := repoID(ctx, c, repo); err != nil {
		return nil, wrap("repository tags", err)
	}
	rows, err := c.query(ctx, repoTagsQuery, repo)
	if err != nil {
		return nil, wrap("repository tags", err)
	}
	tags, err := scanTagInfos(rows)
	return tags, wrap("repository tags", err)
}

// scanTagInfos reads rows of (name, digest, updated_at) and closes them.
func scanTagInfos(rows *sql.Rows) ([]TagInfo, error) {
	defer rows.Close()
	out := []TagInfo{}
	for rows.Next() {
		var (
			t       TagInfo
			d       string
			updated int64
		)
		if err := rows.Scan(&t.Name, &d, &updated); err != nil {
			return nil, err
		}
		t.Digest, t.UpdatedAt = digest.Digest(d), fromUnixNano(updated)
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeletedRepository counts what DeleteRepository removed.
type DeletedRepository struct {
	Tags      int64 `json:"tags"`
	Manifests int64 `json:"manifests"`
	// BlobLinks are the links removed; the blobs themselves stay for
	// garbage collection.
	BlobLinks int64 `json:"blob_links"`
}

// DeleteRepository removes repo with all its tags, manifests, references
// and blob links in one transaction, or returns ErrNotFound. The blobs stay
// in storage (another repository may use them): garbage collection
// reclaims those nothing refers to any more. Upload sessions in progress
// are left alone; one that completes creates the repository again.
func (s *Store) DeleteRepository(ctx context.Context, repo string) (DeletedRepository, error) {
	var out DeletedRepository
	err := s.inTx(ctx, func(c conn) error {
		out = DeletedRepository{}
		id, err := repoID(ctx, c, repo)
		if err != nil {
			return err
		}
		// Explicit rather than relying on ON DELETE CASCADE, which SQLite
		// only honours when foreign keys are switched on.
		for _, st := range []struct {
			q string
			n *int64
		}{
			{"DELETE FROM tags WHERE repository_id = ?", &out.Tags},
			{"DELETE FROM manifest_refs WHERE manifest_id IN (SELECT id FROM manifests WHERE repository_id = ?)", nil},
			{"DELETE FROM manifests WHERE repository_id = ?", &out.Manifests},
			{"DELETE FROM repository_blobs WHERE repository_id = ?", &out.BlobLinks},
			{"DELETE FROM repositories WHERE id = ?", nil},
		} {
			res, err := c.exec(ctx, st.q, id)
			if err != nil {
				return err
			}
			if st.n != nil {
				if *st.n, err = res.RowsAffected(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, wrap("delete repository", err)
}

// queryDynamic runs a query built from data (an IN list of a given
// length) outside the statement cache, which keeps the store's constant
// queries, and calls scan for every row.
func (c conn) queryDynamic(ctx context.Context, q string, args []any, scan func(*sql.Rows) error) error {
	rows, err := c.q.QueryContext(ctx, c.rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// idList is n comma-separated placeholders.
func idList(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anys[T any](v []T) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

// NamespaceStats sums the repositories of one namespace, the first
// component of their names ("team/" for team/app and team/db; a name
// without a slash is its own namespace).
type NamespaceStats struct {
	Namespace    string `json:"namespace"`
	Repositories int64  `json:"repositories"`
	Tags         int64  `json:"tags"`
	Manifests    int64  `json:"manifests"`
	// Bytes counts a blob or manifest shared by several of the
	// namespace's repositories once.
	Bytes    int64     `json:"bytes"`
	LastPush time.Time `json:"last_push"`
}

// Namespace returns the namespace of a repository name.
func Namespace(repo string) string {
	if i := strings.IndexByte(repo, '/'); i >= 0 {
		return repo[:i+1]
	}
	return repo
}

// NamespaceStats returns the namespaces of the repositories whose name
// starts with prefix and that hold a manifest, in byte order.
func (s *Store) NamespaceStats(ctx context.Context, prefix string) ([]NamespaceStats, error) {
	repos, err := s.RepositoryStats(ctx, prefix, "", 0)
	if err != nil {
		return nil, err
	}
	var (
		out   []NamespaceStats
		names [][]string
	)
	for _, r := range repos {
		ns := Namespace(r.Name)
		if len(out) == 0 || out[len(out)-1].Namespace != ns {
			out = append(out, NamespaceStats{Namespace: ns})
			names = append(names, nil)
		}
		n := &out[len(out)-1]
		n.Repositories++
		n.Tags += r.Tags
		n.Manifests += r.Manifests
		if r.LastPush.After(n.LastPush) {
			n.LastPush = r.LastPush
		}
		names[len(names)-1] = append(names[len(names)-1], r.Name)
	}
	for i := range out {
		if out[i].Bytes, err = s.Usage(ctx, names[i]); err != nil {
			return nil, err
		}
	}
	if out == nil {
		out = []NamespaceStats{}
	}
	return out, nil
}
