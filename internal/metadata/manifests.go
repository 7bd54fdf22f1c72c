package metadata

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencontainers/go-digest"
)

// The read queries on hot paths; the tests check their query plans.
const (
	getManifestQuery = `SELECT m.media_type, m.artifact_type, m.size, m.payload, m.subject, m.annotations, m.created_at
FROM manifests m
JOIN repositories r ON r.id = m.repository_id
WHERE r.name = ? AND m.digest = ?`

	// Joined by repository and digest, not by a manifest id read earlier:
	// ids can be reused after a delete.
	manifestRefsQuery = `SELECT mr.kind, mr.digest
FROM manifest_refs mr
JOIN manifests m ON m.id = mr.manifest_id
JOIN repositories r ON r.id = m.repository_id
WHERE r.name = ? AND m.digest = ?
ORDER BY mr.kind, mr.digest`

	// The index (repository_id, subject, digest) yields the rows in digest
	// order from the cursor on (keyset pagination, like tags); the artifact
	// type filter applies to those few rows only.
	referrersQuery = `SELECT m.media_type, m.digest, m.size, m.artifact_type, m.annotations
FROM manifests m
JOIN repositories r ON r.id = m.repository_id
WHERE r.name = ? AND m.subject = ? AND m.digest > ? AND (? = '' OR m.artifact_type = ?)
ORDER BY m.digest LIMIT ?`
)

// PutManifest stores m in m.Repo and points tags at it, all or nothing (in
// a transaction it may share with other writes of the moment; it returns
// once that is durable): the repository is created if needed, every
// reference in m.Refs must exist in m.Repo (otherwise a
// *MissingReferenceError is returned and nothing is written), pushing the
// same digest again updates it in place, and a tag that pointed elsewhere
// moves. A zero m.CreatedAt means now; a re-push keeps the first CreatedAt.
func (s *Store) PutManifest(ctx context.Context, m *Manifest, tags []string) error {
	return s.putManifest(ctx, m, tags, true)
}

// PutCachedManifest stores a manifest fetched from another registry by
// the pull-through cache, as PutManifest does but without asking that its
// references be present: a cache holds a manifest before the blobs and
// child manifests its clients fetch next (each on its first pull). Its
// references are recorded all the same, so that garbage collection keeps
// what arrives later.
func (s *Store) PutCachedManifest(ctx context.Context, m *Manifest, tags []string) error {
	return s.putManifest(ctx, m, tags, false)
}

func (s *Store) putManifest(ctx context.Context, m *Manifest, tags []string, checkRefs bool) error {
	if err := validateManifest(m, tags); err != nil {
		return err
	}
	annotations, err := encodeAnnotations(m.Annotations)
	if err != nil {
		return fmt.Errorf("metadata: put manifest: %w", err)
	}
	now := time.Now()
	created := m.CreatedAt
	if created.IsZero() {
		created = now
	}
	payload := m.Payload
	if payload == nil {
		payload = []byte{}
	}
	var subject any // NULL when there is no subject
	if m.Subject != "" {
		subject = m.Subject.String()
	}
	// One transaction shared with the other manifests and uploads of the
	// moment (group commit: see commitBatcher).
	return s.batch.commit(ctx, "put manifest", func(ctx context.Context, c conn) error {
		repoID, err := ensureRepo(ctx, c, m.Repo)
		if err != nil {
			return err
		}
		if checkRefs {
			if err := refuseCached(ctx, c, m.Repo); err != nil {
				return err
			}
		}
		for _, ref := range m.Refs {
			if !checkRefs {
				break
			}
			if err := checkRef(ctx, c, repoID, ref); err != nil {
				return err
			}
		}
		if _, err := c.exec(ctx, c.d.upsert("manifests",
			"repository_id, digest, media_type, artifact_type, size, payload, subject, annotations, created_at, pushed_at",
			"repository_id, digest",
			"media_type", "artifact_type", "size", "payload", "subject", "annotations", "pushed_at"),
			repoID, m.Digest.String(), m.MediaType, m.ArtifactType, m.Size, payload, subject, annotations,
			unixNano(created), unixNano(now)); err != nil {
			return err
		}
		var id int64
		if err := c.queryRow(ctx, "SELECT id FROM manifests WHERE repository_id = ? AND digest = ?",
			repoID, m.Digest.String()).Scan(&id); err != nil {
			return err
		}
		if _, err := c.exec(ctx, "DELETE FROM manifest_refs WHERE manifest_id = ?", id); err != nil {
			return err
		}
		for _, ref := range m.Refs {
			if _, err := c.exec(ctx, c.d.insertIgnore("manifest_refs", "manifest_id, kind, digest",
				"manifest_id, kind, digest"), id, string(ref.Kind), ref.Digest.String()); err != nil {
				return err
			}
		}
		for _, tag := range tags {
			if err := s.putTag(ctx, c, m.Repo, repoID, tag, id, now); err != nil {
				return err
			}
		}
		if len(tags) > 0 {
			return bumpTagVersion(ctx, c, repoID)
		}
		return nil
	})
}

// GetManifest returns the manifest with its payload and its references
// (deduplicated, ordered by kind then digest), or ErrNotFound. Empty
// annotations come back nil.
func (s *Store) GetManifest(ctx context.Context, repo string, dgst digest.Digest) (*Manifest, error) {
	c := s.read()
	m := &Manifest{Repo: repo, Digest: dgst}
	var (
		subject, annotations sql.NullString
		created              int64
	)
	err := c.queryRow(ctx, getManifestQuery, repo, dgst.String()).
		Scan(&m.MediaType, &m.ArtifactType, &m.Size, &m.Payload, &subject, &annotations, &created)
	if err != nil {
		return nil, wrap("get manifest", notFound(err))
	}
	m.Subject = digest.Digest(subject.String)
	m.CreatedAt = fromUnixNano(created)
	if m.Annotations, err = decodeAnnotations(annotations); err != nil {
		return nil, fmt.Errorf("metadata: get manifest %s: %w", dgst, err)
	}
	rows, err := c.query(ctx, manifestRefsQuery, repo, dgst.String())
	if err != nil {
		return nil, wrap("get manifest refs", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, d string
		if err := rows.Scan(&kind, &d); err != nil {
			return nil, wrap("get manifest refs", err)
		}
		m.Refs = append(m.Refs, Ref{Kind: RefKind(kind), Digest: digest.Digest(d)})
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("get manifest refs", err)
	}
	return m, nil
}

// DeleteManifest removes the manifest, the tags pointing at it and its
// references, or returns ErrNotFound. Blobs stay, for garbage collection to
// decide.
func (s *Store) DeleteManifest(ctx context.Context, repo string, dgst digest.Digest) error {
	return wrap("delete manifest", s.inTx(ctx, func(c conn) error {
		id, repoIDOf, err := manifestRow(ctx, c, repo, dgst)
		if err != nil {
			return err
		}
		if err := s.checkDeleteTags(ctx, c, repo, repoIDOf, id); err != nil {
			return err
		}
		res, err := c.exec(ctx, "DELETE FROM tags WHERE manifest_id = ?", id)
		if err != nil {
			return err
		}
		if err := deleteManifestRow(ctx, c, id); err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return bumpTagVersion(ctx, c, repoIDOf)
		}
		return nil
	}))
}

// ReferrersPage selects one page of a referrers listing.
type ReferrersPage struct {
	// ArtifactType, when not empty, keeps only the referrers of that type.
	ArtifactType string
	// After is the last digest of the previous page: the page holds the
	// referrers whose digest sorts after it. A cursor rather than an
	// offset, so that referrers pushed or deleted during a walk neither
	// repeat nor hide the others.
	After digest.Digest
	// Limit is the most descriptors returned; 0 or less means no limit.
	Limit int
	// MaxBytes, when positive, ends the page before the descriptor that
	// would take the page's Size sum over it; the first descriptor is
	// always returned, so a walk makes progress.
	MaxBytes int
}

// Referrers lists the manifests in repo whose subject is subject, ordered by
// digest, one page at a time: more says whether another page follows. It
// returns an empty slice, not ErrNotFound, when there are none.
func (s *Store) Referrers(ctx context.Context, repo string, subject digest.Digest, p ReferrersPage) (refs []Descriptor, more bool, err error) {
	n := limit(p.Limit)
	if p.Limit > 0 {
		n++ // one more than asked, to tell whether another page follows
	}
	rows, err := s.read().query(ctx, referrersQuery, repo, subject.String(), p.After.String(), p.ArtifactType, p.ArtifactType, n)
	if err != nil {
		return nil, false, wrap("referrers", err)
	}
	defer rows.Close()
	out := []Descriptor{}
	used := 0
	for rows.Next() {
		if p.Limit > 0 && len(out) == p.Limit {
			return out, true, nil
		}
		var (
			d           Descriptor
			annotations sql.NullString
		)
		if err := rows.Scan(&d.MediaType, &d.Digest, &d.Size, &d.ArtifactType, &annotations); err != nil {
			return nil, false, wrap("referrers", err)
		}
		// Counted before decoding: the stored annotations are the JSON the
		// client gets, and a page must not grow past MaxBytes in memory.
		size := descriptorSize(d, annotations.String)
		if p.MaxBytes > 0 && len(out) > 0 && used+size > p.MaxBytes {
			return out, true, nil
		}
		used += size
		if d.Annotations, err = decodeAnnotations(annotations); err != nil {
			return nil, false, fmt.Errorf("metadata: referrers of %s: %s: %w", subject, d.Digest, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, false, wrap("referrers", err)
	}
	return out, false, nil
}

// descriptorOverhead bounds what a descriptor adds in JSON besides its
// values: member names, quotes, commas, braces and the size's digits.
const descriptorOverhead = 128

// descriptorSize bounds d's length in the JSON of an image index, given its
// annotations as stored (json.Marshal's encoding, which the index repeats).
// The strings are measured encoded: a hostile artifactType full of '<'
// grows sixfold in JSON.
func descriptorSize(d Descriptor, annotations string) int {
	return jsonLen(d.MediaType) + len(d.Digest) + jsonLen(d.ArtifactType) + len(annotations) + descriptorOverhead
}

func jsonLen(s string) int {
	b, _ := json.Marshal(s) // a string always encodes
	return len(b)
}

func validateManifest(m *Manifest, tags []string) error {
	if m == nil {
		return errors.New("metadata: put manifest: nil manifest")
	}
	var errs []error
	if m.Repo == "" {
		errs = append(errs, errors.New("empty repository name"))
	} else if err := checkKey("repository name", m.Repo); err != nil {
		return err
	}
	for _, tag := range tags {
		if err := checkKey("tag", tag); err != nil {
			return err
		}
	}
	for _, ref := range m.Refs {
		if err := checkKey("reference", ref.Digest.String()); err != nil {
			return err
		}
	}
	// PostgreSQL and MySQL refuse what SQLite would store.
	for _, f := range []struct{ what, v string }{{"media type", m.MediaType}, {"artifact type", m.ArtifactType}} {
		if strings.IndexByte(f.v, 0) >= 0 || !utf8.ValidString(f.v) {
			errs = append(errs, fmt.Errorf("%s: not valid UTF-8 text", f.what))
		}
	}
	if err := m.Digest.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("digest %q: %w", m.Digest, err))
	}
	if m.Subject != "" {
		if err := m.Subject.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("subject %q: %w", m.Subject, err))
		}
	}
	for _, ref := range m.Refs {
		if ref.Kind != RefBlob && ref.Kind != RefManifest {
			errs = append(errs, fmt.Errorf("reference %s: unknown kind %q", ref.Digest, ref.Kind))
		}
	}
	for _, tag := range tags {
		if tag == "" {
			errs = append(errs, errors.New("empty tag"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("metadata: put manifest: %w", err)
	}
	return nil
}

// checkRef returns a *MissingReferenceError unless ref exists in the
// repository. It locks the blob (or manifest) row it finds, shared, until the
// transaction ends: garbage collection deletes a row only under an exclusive
// lock, after checking again that nothing refers to it, so either this
// transaction waits for the delete and then finds nothing, or the collector
// waits for this commit and then sees the new reference.
func checkRef(ctx context.Context, c conn, repoID int64, ref Ref) error {
	q := `SELECT 1 FROM repository_blobs rb JOIN blobs b ON b.digest = rb.blob_digest
WHERE rb.repository_id = ? AND rb.blob_digest = ?` + c.d.forShare
	if ref.Kind == RefManifest {
		q = "SELECT 1 FROM manifests WHERE repository_id = ? AND digest = ?" + c.d.forShare
	}
	var one int
	err := c.queryRow(ctx, q, repoID, ref.Digest.String()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return &MissingReferenceError{Digest: ref.Digest, Kind: ref.Kind}
	}
	return err
}

// Annotations are stored as a JSON object, NULL when there are none.
func encodeAnnotations(a map[string]string) (any, error) {
	if len(a) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("annotations: %w", err)
	}
	return string(b), nil
}

func decodeAnnotations(s sql.NullString) (map[string]string, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var a map[string]string
	if err := json.Unmarshal([]byte(s.String), &a); err != nil {
		return nil, fmt.Errorf("annotations: %w", err)
	}
	return a, nil
}
