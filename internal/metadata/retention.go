package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencontainers/go-digest"
)

// ErrStillReferenced means a manifest is tagged or referenced again and was
// not deleted by DeleteUntagged.
var ErrStillReferenced = errors.New("metadata: manifest is tagged or referenced")

// ErrUsedSince means a manifest was pushed or pulled at or after the time
// DeleteUntagged was given, and was not deleted.
var ErrUsedSince = errors.New("metadata: manifest pushed or pulled since")

// ReadOnlyState is read-only mode as set at runtime (SetReadOnly).
type ReadOnlyState struct {
	Enabled   bool
	Reason    string
	UpdatedAt time.Time // zero when never set
}

// MaxReadOnlyReason bounds the reason stored with read-only mode, in bytes.
const MaxReadOnlyReason = 512

// ReadOnly returns read-only mode as stored in the database.
func (s *Store) ReadOnly(ctx context.Context) (ReadOnlyState, error) {
	var (
		st      ReadOnlyState
		enabled int
		updated int64
	)
	err := s.read().queryRow(ctx, "SELECT enabled, reason, updated_at FROM read_only WHERE id = 1").
		Scan(&enabled, &st.Reason, &updated)
	if err != nil {
		return ReadOnlyState{}, wrap("read-only mode", err)
	}
	st.Enabled = enabled != 0
	if updated != 0 {
		st.UpdatedAt = fromUnixNano(updated)
	}
	return st, nil
}

// SetReadOnly stores read-only mode for every process sharing the
// database. reason is shown to clients; it must be printable UTF-8 of at
// most MaxReadOnlyReason bytes.
func (s *Store) SetReadOnly(ctx context.Context, enabled bool, reason string) error {
	if len(reason) > MaxReadOnlyReason {
		return fmt.Errorf("%w: the read-only reason is %d bytes long; the longest is %d", ErrInvalidKey, len(reason), MaxReadOnlyReason)
	}
	if !utf8.ValidString(reason) || strings.ContainsFunc(reason, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: the read-only reason must be printable UTF-8 text on one line", ErrInvalidKey)
	}
	on := 0
	if enabled {
		on = 1
	}
	_, err := s.read().exec(ctx, "UPDATE read_only SET enabled = ?, reason = ?, updated_at = ? WHERE id = 1",
		on, reason, unixNano(time.Now()))
	return wrap("set read-only mode", err)
}

// RetentionTag is a tag as retention sees it.
type RetentionTag struct {
	Name     string
	Digest   digest.Digest
	PushedAt time.Time // when it was last pointed at Digest (or pushed again)
	PulledAt time.Time // zero when never pulled since pull times were recorded
}

// RetentionManifest is a manifest as retention sees it.
type RetentionManifest struct {
	Digest    digest.Digest
	MediaType string
	Subject   digest.Digest // "" when none
	CreatedAt time.Time
	// PushedAt is when it was last pushed (CreatedAt is the first push):
	// an untagged manifest pushed again, say as the child of an index
	// about to follow, is in use again.
	PushedAt time.Time
	PulledAt time.Time
	Children []digest.Digest // the manifests it refers to (an index's)
}

// RepositoryState is what retention needs to decide about one repository:
// every tag and every manifest, each ordered by name or digest.
type RepositoryState struct {
	Repo      string
	Tags      []RetentionTag
	Manifests []RetentionManifest
}

// RepositoryState reads repo's tags and manifests in one transaction-free
// pass; ErrNotFound when the repository does not exist. A push between the
// reads may show a tag whose manifest is not listed: retention then keeps
// it, and deletes only through UntagIf and DeleteUntagged, which check
// again.
func (s *Store) RepositoryState(ctx context.Context, repo string) (*RepositoryState, error) {
	c := s.read()
	id, err := repoID(ctx, c, repo)
	if err != nil {
		return nil, wrap("repository state", err)
	}
	st := &RepositoryState{Repo: repo, Tags: []RetentionTag{}, Manifests: []RetentionManifest{}}
	rows, err := c.query(ctx, `SELECT t.name, m.digest, t.updated_at, t.pulled_at
FROM tags t JOIN manifests m ON m.id = t.manifest_id
WHERE t.repository_id = ? ORDER BY t.name`, id)
	if err != nil {
		return nil, wrap("repository state", err)
	}
	for rows.Next() {
		var (
			t              RetentionTag
			pushed, pulled int64
		)
		if err := rows.Scan(&t.Name, &t.Digest, &pushed, &pulled); err != nil {
			rows.Close()
			return nil, wrap("repository state", err)
		}
		t.PushedAt, t.PulledAt = fromUnixNano(pushed), optionalTime(pulled)
		st.Tags = append(st.Tags, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("repository state", err)
	}
	if st.Manifests, err = retentionManifests(ctx, c, id); err != nil {
		return nil, wrap("repository state", err)
	}
	return st, nil
}

func retentionManifests(ctx context.Context, c conn, repoID int64) ([]RetentionManifest, error) {
	rows, err := c.query(ctx, `SELECT m.digest, m.media_type, m.subject, m.created_at, m.pushed_at, m.pulled_at, mr.digest
FROM manifests m LEFT JOIN manifest_refs mr ON mr.manifest_id = m.id AND mr.kind = ?
WHERE m.repository_id = ? ORDER BY m.digest, mr.digest`, string(RefManifest), repoID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []RetentionManifest{}
	for rows.Next() {
		var (
			m                       RetentionManifest
			subject, child          sql.NullString
			created, pushed, pulled int64
		)
		if err := rows.Scan(&m.Digest, &m.MediaType, &subject, &created, &pushed, &pulled, &child); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].Digest != m.Digest {
			m.Subject = digest.Digest(subject.String)
			m.CreatedAt, m.PushedAt, m.PulledAt = fromUnixNano(created), fromUnixNano(max(pushed, created)), optionalTime(pulled)
			out = append(out, m)
		}
		if child.Valid {
			last := &out[len(out)-1]
			last.Children = append(last.Children, digest.Digest(child.String))
		}
	}
	return out, rows.Err()
}

func optionalTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return fromUnixNano(n)
}

// DeleteUntagged deletes the manifest dgst of repo only if no tag points at
// it, no other manifest of repo refers to it as a child or has it as its
// subject (ErrStillReferenced otherwise), and it was neither pushed nor
// pulled at or after before (ErrUsedSince otherwise); ErrNotFound when it
// is gone. The checks run under an exclusive lock on the manifest's row,
// which a push referring to it or tagging it waits for (or holds).
func (s *Store) DeleteUntagged(ctx context.Context, repo string, dgst digest.Digest, before time.Time) error {
	return wrap("delete untagged manifest", s.inTx(ctx, func(c conn) error {
		return deleteUntagged(ctx, c, repo, dgst, before)
	}))
}

// DeleteUntagged's statements; DeleteUntaggedBatch prepares them first.
const (
	untaggedLockQuery = "SELECT created_at, pushed_at, pulled_at FROM manifests WHERE id = ?" // + forUpdate
	untaggedKeptQuery = `SELECT
 (SELECT COUNT(*) FROM tags WHERE manifest_id = ?) +
 (SELECT COUNT(*) FROM manifest_refs mr JOIN manifests p ON p.id = mr.manifest_id
  WHERE p.repository_id = ? AND mr.kind = ? AND mr.digest = ?) +
 (SELECT COUNT(*) FROM manifests WHERE repository_id = ? AND subject = ?)`
	manifestRowQuery = `SELECT m.id, m.repository_id FROM manifests m
JOIN repositories r ON r.id = m.repository_id
WHERE r.name = ? AND m.digest = ?`
)

// deleteManifestRowQueries delete a manifest's references, then its row.
var deleteManifestRowQueries = []string{
	"DELETE FROM manifest_refs WHERE manifest_id = ?",
	"DELETE FROM manifests WHERE id = ?",
}

// deleteUntagged is DeleteUntagged inside the transaction c.
func deleteUntagged(ctx context.Context, c conn, repo string, dgst digest.Digest, before time.Time) error {
	id, rid, err := manifestRow(ctx, c, repo, dgst)
	if err != nil {
		return err
	}
	var created, pushed, pulled int64
	if err := c.queryRow(ctx, untaggedLockQuery+c.d.forUpdate, id).
		Scan(&created, &pushed, &pulled); err != nil {
		return notFound(err)
	}
	if b := unixNano(before); max(created, pushed, pulled) >= b {
		return ErrUsedSince
	}
	var n int
	if err := c.queryRow(ctx, untaggedKeptQuery,
		id, rid, string(RefManifest), dgst.String(), rid, dgst.String()).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return ErrStillReferenced
	}
	return deleteManifestRow(ctx, c, id)
}

// manifestRow returns the id and repository id of a manifest, or
// ErrNotFound.
func manifestRow(ctx context.Context, c conn, repo string, dgst digest.Digest) (id, repoID int64, err error) {
	err = c.queryRow(ctx, manifestRowQuery, repo, dgst.String()).Scan(&id, &repoID)
	return id, repoID, notFound(err)
}

// deleteManifestRow deletes a manifest and its references, explicitly
// rather than relying on ON DELETE CASCADE, which SQLite only honours when
// foreign keys are switched on.
func deleteManifestRow(ctx context.Context, c conn, id int64) error {
	for _, q := range deleteManifestRowQueries {
		if _, err := c.exec(ctx, q, id); err != nil {
			return err
		}
	}
	return nil
}
