package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
)

// ErrImmutableTag means a push or delete would move or remove a tag that a
// rule declares immutable; the error is an *ImmutableTagError.
var ErrImmutableTag = errors.New("metadata: tag is immutable")

// TagGuard says whether tag of repo is immutable, and the rule that says
// so (for messages).
type TagGuard func(repo, tag string) (rule string, immutable bool)

// ImmutableTagError names the tag, the rule and the digest the tag keeps.
type ImmutableTagError struct {
	Repo, Tag, Rule string
	Current         digest.Digest // "" when it could not be read
	Delete          bool          // a delete, not a push, was refused
}

func (e *ImmutableTagError) Error() string {
	what := "it points at another manifest"
	if e.Current != "" {
		what = "it points at " + e.Current.String()
	}
	verb := "moved"
	if e.Delete {
		verb = "deleted"
	}
	return fmt.Sprintf("tag %s:%s is immutable (rule %s) and cannot be %s; %s: push under a new tag",
		e.Repo, e.Tag, e.Rule, verb, what)
}

// Unwrap makes errors.Is(err, ErrImmutableTag) true.
func (e *ImmutableTagError) Unwrap() error { return ErrImmutableTag }

// SetTagGuard makes the store refuse to move or delete the tags g calls
// immutable; nil removes the guard. Call it before serving.
func (s *Store) SetTagGuard(g TagGuard) {
	if g == nil {
		s.guard.Store(nil)
		return
	}
	s.guard.Store(&g)
}

// immutable returns the rule that freezes tag, if any.
func (s *Store) immutable(repo, tag string) (string, bool) {
	g := s.guard.Load()
	if g == nil {
		return "", false
	}
	return (*g)(repo, tag)
}

// putTag points tag at the manifest id, inside PutManifest's transaction.
// An immutable tag is only ever created, never moved: the row is inserted
// if missing, then confirmed to point at id by an UPDATE, which every
// database evaluates against the latest committed row (a concurrent push
// that created the tag first makes it match nothing), so two racing pushes
// cannot both win.
func (s *Store) putTag(ctx context.Context, c conn, repo string, repoID int64, tag string, id int64, now time.Time) error {
	rule, frozen := s.immutable(repo, tag)
	if !frozen {
		_, err := c.exec(ctx, c.d.upsert("tags", "repository_id, name, manifest_id, updated_at",
			"repository_id, name", "manifest_id", "updated_at"),
			repoID, tag, id, unixNano(now))
		return err
	}
	// Inserted with updated_at 0, so that the UPDATE below changes a
	// column (MySQL counts only changed rows) whether the row is new or not.
	if _, err := c.exec(ctx, c.d.insertIgnore("tags", "repository_id, name, manifest_id, updated_at", "repository_id, name"),
		repoID, tag, id, 0); err != nil {
		return err
	}
	res, err := c.exec(ctx, "UPDATE tags SET updated_at = ? WHERE repository_id = ? AND name = ? AND manifest_id = ?",
		unixNano(now), repoID, tag, id)
	if err = affectedOne(res, err); !errors.Is(err, ErrNotFound) {
		return err
	}
	return &ImmutableTagError{Repo: repo, Tag: tag, Rule: rule, Current: currentDigest(ctx, c, repoID, tag)}
}

// currentDigest is the digest tag points at, for a message: "" when it
// cannot be read (MySQL's snapshot may predate the push that created it).
func currentDigest(ctx context.Context, c conn, repoID int64, tag string) digest.Digest {
	var d string
	err := c.queryRow(ctx, `SELECT m.digest FROM tags t JOIN manifests m ON m.id = t.manifest_id
WHERE t.repository_id = ? AND t.name = ?`, repoID, tag).Scan(&d)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return ""
	}
	return digest.Digest(d)
}

// checkDeleteTags refuses a delete that would remove an immutable tag of
// the manifest id (tag "" means every tag pointing at it).
func (s *Store) checkDeleteTags(ctx context.Context, c conn, repo string, repoID, id int64) error {
	if s.guard.Load() == nil {
		return nil
	}
	tags, err := queryStrings(ctx, c, "SELECT name FROM tags WHERE manifest_id = ? ORDER BY name", id)
	if err != nil {
		return err
	}
	for _, tag := range tags {
		if rule, frozen := s.immutable(repo, tag); frozen {
			return &ImmutableTagError{Repo: repo, Tag: tag, Rule: rule, Delete: true,
				Current: currentDigest(ctx, c, repoID, tag)}
		}
	}
	return nil
}
