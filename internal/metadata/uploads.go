package metadata

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/opencontainers/go-digest"
)

const (
	// uploadColumns selects what scanUploads reads.
	uploadColumns = `SELECT id, repository, algorithm, byte_offset, hash_state, started_at, updated_at FROM uploads`

	staleUploadsQuery = uploadColumns + " WHERE updated_at < ? ORDER BY updated_at, id"
)

// CreateUpload records a new upload session. Zero StartedAt or UpdatedAt
// mean now; u itself is not modified. An upload does not create its
// repository: only committed content does.
func (s *Store) CreateUpload(ctx context.Context, u *Upload) error {
	if u == nil || u.ID == "" || u.Repo == "" {
		return errors.New("metadata: create upload: id and repository are required")
	}
	if err := checkKey("upload id", u.ID); err != nil {
		return err
	}
	if err := checkKey("repository name", u.Repo); err != nil {
		return err
	}
	now := time.Now()
	started, updated := u.StartedAt, u.UpdatedAt
	if started.IsZero() {
		started = now
	}
	if updated.IsZero() {
		updated = now
	}
	// A new session holds no acknowledged bytes: losing it in a power cut
	// makes the client start its push again, so its commit is not fsynced.
	_, err := s.lazyWrite().exec(ctx, `INSERT INTO uploads
(id, repository, algorithm, byte_offset, hash_state, started_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Repo, string(u.Algorithm), u.Offset, u.HashState, unixNano(started), unixNano(updated))
	return wrap("create upload", err)
}

// GetUpload returns the upload, or ErrNotFound when it does not exist or
// belongs to another repository.
func (s *Store) GetUpload(ctx context.Context, repo, id string) (*Upload, error) {
	rows, err := s.read().query(ctx, uploadColumns+" WHERE id = ? AND repository = ?", id, repo)
	if err != nil {
		return nil, wrap("get upload", err)
	}
	ups, err := scanUploads(rows)
	if err != nil {
		return nil, wrap("get upload", err)
	}
	if len(ups) == 0 {
		return nil, ErrNotFound
	}
	return &ups[0], nil
}

// UpdateUpload records the upload's progress and marks it as updated now,
// or returns ErrNotFound.
func (s *Store) UpdateUpload(ctx context.Context, id string, offset int64, hashState []byte) error {
	// MySQL counts only changed rows as affected unless the connection sets
	// clientFoundRows; updated_at changes on every call anyway.
	return wrap("update upload", affectedOne(s.read().exec(ctx,
		"UPDATE uploads SET byte_offset = ?, hash_state = ?, updated_at = ? WHERE id = ?",
		offset, hashState, unixNano(time.Now()), id)))
}

// DeleteUpload removes the upload; a missing upload is not an error.
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	_, err := s.read().exec(ctx, "DELETE FROM uploads WHERE id = ?", id)
	return wrap("delete upload", err)
}

// StaleUploads returns the uploads last updated before before, oldest first.
func (s *Store) StaleUploads(ctx context.Context, before time.Time) ([]Upload, error) {
	rows, err := s.read().query(ctx, staleUploadsQuery, unixNano(before))
	if err != nil {
		return nil, wrap("stale uploads", err)
	}
	ups, err := scanUploads(rows)
	return ups, wrap("stale uploads", err)
}

// scanUploads reads and closes rows; the result is never nil on success.
func scanUploads(rows *sql.Rows) ([]Upload, error) {
	defer rows.Close()
	out := []Upload{}
	for rows.Next() {
		var (
			u                Upload
			alg              string
			started, updated int64
		)
		if err := rows.Scan(&u.ID, &u.Repo, &alg, &u.Offset, &u.HashState, &started, &updated); err != nil {
			return nil, err
		}
		u.Algorithm = digest.Algorithm(alg)
		u.StartedAt, u.UpdatedAt = fromUnixNano(started), fromUnixNano(updated)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
