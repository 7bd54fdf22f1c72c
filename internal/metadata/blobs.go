package metadata

import (
	"context"
	"errors"
	"time"

	"github.com/opencontainers/go-digest"
)

// AddBlob records that the blob's bytes are committed in storage and links it
// to repo, creating the repository if needed. Adding a blob again is not an
// error.
func (s *Store) AddBlob(ctx context.Context, repo string, dgst digest.Digest, size int64) error {
	if err := checkKey("digest", dgst.String()); err != nil {
		return err
	}
	now := unixNano(time.Now())
	return wrap("add blob", s.inTx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, c.d.insertIgnore("blobs", "digest, size, created_at", "digest"),
			dgst.String(), size, now); err != nil {
			return err
		}
		return link(ctx, c, repo, dgst, now)
	}))
}

// CommitUpload records a finished upload: the blob committed to storage
// (as AddBlob) and the upload session gone (as DeleteUpload), in one
// transaction shared with the other uploads finishing at the same time (a
// group commit: see commitBatcher). It returns once that transaction is
// durable.
func (s *Store) CommitUpload(ctx context.Context, id, repo string, dgst digest.Digest, size int64) error {
	if err := checkKey("digest", dgst.String()); err != nil {
		return err
	}
	if id == "" || repo == "" {
		return errors.New("metadata: commit upload: id and repository are required")
	}
	if err := checkKey("repository name", repo); err != nil {
		return err
	}
	return s.batch.commit(ctx, "commit upload", recordUpload(id, repo, dgst, size))
}

// LinkBlob mounts a blob into repo and returns its size. With from set, the
// blob must be linked in repository from; with from empty, any committed
// blob may be linked (the registry decides whether that is allowed). It
// returns ErrNotFound, and creates nothing, when the blob is not available.
func (s *Store) LinkBlob(ctx context.Context, repo, from string, dgst digest.Digest) (int64, error) {
	var size int64
	err := s.inTx(ctx, func(c conn) error {
		var err error
		if from != "" {
			size, err = repoBlobSize(ctx, c, from, dgst)
		} else {
			err = notFound(c.queryRow(ctx, "SELECT size FROM blobs WHERE digest = ?", dgst.String()).Scan(&size))
		}
		if err != nil {
			return err
		}
		return link(ctx, c, repo, dgst, unixNano(time.Now()))
	})
	if err != nil {
		return 0, wrap("link blob", err)
	}
	return size, nil
}

// RepoBlob returns the size of a blob linked in repo, or ErrNotFound.
func (s *Store) RepoBlob(ctx context.Context, repo string, dgst digest.Digest) (int64, error) {
	size, err := repoBlobSize(ctx, s.read(), repo, dgst)
	if err != nil {
		return 0, wrap("repo blob", err)
	}
	return size, nil
}

// UnlinkBlob removes the blob from repo, or returns ErrNotFound when it was
// not linked there. The blob row stays for garbage collection to decide.
func (s *Store) UnlinkBlob(ctx context.Context, repo string, dgst digest.Digest) error {
	c := s.read()
	return wrap("unlink blob", affectedOne(c.exec(ctx, `DELETE FROM repository_blobs
WHERE repository_id = (SELECT id FROM repositories WHERE name = ?) AND blob_digest = ?`,
		repo, dgst.String())))
}

func link(ctx context.Context, c conn, repo string, dgst digest.Digest, now int64) error {
	id, err := ensureRepo(ctx, c, repo)
	if err != nil {
		return err
	}
	// Linking again refreshes the link's time: a client that uploads or
	// mounts a blob is about to refer to it, so garbage collection gives it
	// a new grace period even if the link existed.
	_, err = c.exec(ctx, c.d.upsert("repository_blobs", "repository_id, blob_digest, created_at",
		"repository_id, blob_digest", "created_at"), id, dgst.String(), now)
	return err
}

// repoBlobQuery is on the hot path of every blob HEAD and GET.
const repoBlobQuery = `SELECT b.size
FROM repositories r
JOIN repository_blobs rb ON rb.repository_id = r.id
JOIN blobs b ON b.digest = rb.blob_digest
WHERE r.name = ? AND rb.blob_digest = ?`

func repoBlobSize(ctx context.Context, c conn, repo string, dgst digest.Digest) (int64, error) {
	var size int64
	err := c.queryRow(ctx, repoBlobQuery, repo, dgst.String()).Scan(&size)
	return size, notFound(err)
}

// Referenced reports whether a manifest in repo refers to dgst (a blob or
// a child manifest).
func (s *Store) Referenced(ctx context.Context, repo string, dgst digest.Digest) (bool, error) {
	var one int
	err := s.read().queryRow(ctx, `SELECT 1 FROM manifest_refs mr
JOIN manifests m ON m.id = mr.manifest_id
JOIN repositories r ON r.id = m.repository_id
WHERE r.name = ? AND mr.digest = ? LIMIT 1`, repo, dgst.String()).Scan(&one)
	if err := notFound(err); errors.Is(err, ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, wrap("referenced", err)
	}
	return true, nil
}
