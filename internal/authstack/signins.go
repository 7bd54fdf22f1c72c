package authstack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"wharf/internal/auth/signin"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
)

// maxSignInAttempts bounds the sign-ins in progress of one provider,
// across the replicas of a database.
const maxSignInAttempts = 10000

// signIns keeps browser sign-ins and the sign-ins in progress in the
// metadata database, so that every replica on it knows them: a password
// issued by one works on all, and a browser sent to the provider by one
// may come back to another.
type signIns struct{ meta *metadata.Store }

// signInAttempts are the sign-ins in progress, in the same database.
type signInAttempts struct{ meta *metadata.Store }

var (
	_ signin.Store    = signIns{}
	_ signin.Attempts = signInAttempts{}
)

// Get implements signin.Store.
func (s signIns) Get(ctx context.Context, backend, account string) (signin.Record, error) {
	r, err := s.meta.SignIn(ctx, backend, account)
	if errors.Is(err, metadata.ErrNotFound) {
		return signin.Record{}, signin.ErrNotFound
	}
	if err != nil {
		return signin.Record{}, err
	}
	return signin.DecodeRecord(signin.Encoded(r))
}

// Put implements signin.Store.
func (s signIns) Put(ctx context.Context, r signin.Record) error {
	e, err := signin.EncodeRecord(r)
	if err != nil {
		return err
	}
	return s.meta.PutSignIn(ctx, metadata.SignIn(e))
}

// Update implements signin.Store.
func (s signIns) Update(ctx context.Context, r signin.Record) (bool, error) {
	e, err := signin.EncodeRecord(r)
	if err != nil {
		return false, err
	}
	return s.meta.UpdateSignIn(ctx, metadata.SignIn(e))
}

// Delete implements signin.Store.
func (s signIns) Delete(ctx context.Context, backend, account string, hash [sha256.Size]byte) error {
	return s.meta.DeleteSignIn(ctx, backend, account, hash[:])
}

// Close implements signin.Store: the database is the server's.
func (signIns) Close() error { return nil }

// stateKey is how an attempt is keyed: the SHA-256 of its state, so that
// the table alone cannot answer a callback.
func stateKey(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// Put implements signin.Attempts.
func (s signInAttempts) Put(ctx context.Context, backend string, a signin.Attempt, expires time.Time) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("authstack: sign-in attempt: %w", err)
	}
	err = s.meta.PutSignInAttempt(ctx, backend, stateKey(a.State), string(b), expires, time.Now(), maxSignInAttempts)
	if errors.Is(err, metadata.ErrTooManyAttempts) {
		return fmt.Errorf("%w (%w)", signin.ErrTooManyAttempts, err)
	}
	return err
}

// Take implements signin.Attempts.
func (s signInAttempts) Take(ctx context.Context, backend, state string) (signin.Attempt, bool, error) {
	raw, ok, err := s.meta.TakeSignInAttempt(ctx, backend, stateKey(state), time.Now())
	if err != nil || !ok {
		return signin.Attempt{}, false, err
	}
	var a signin.Attempt
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return signin.Attempt{}, false, fmt.Errorf("authstack: sign-in attempt: %w", err)
	}
	return a, true, nil
}

// importSignIns moves the sign-ins of an earlier release's
// <data>/auth/sign-ins.db into the metadata database once, so that users
// need not sign in again, then renames the file *.imported. A sign-in the
// database has already (made since) wins. Replicas importing at once
// import the same rows; one renames the file.
func importSignIns(ctx context.Context, dir datadir.Dir, meta *metadata.Store, log *slog.Logger) error {
	path := dir.SignIns()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	old, err := signin.OpenSQLite(ctx, path)
	if err != nil {
		return fmt.Errorf("authstack: import %s: %w", path, err)
	}
	all, err := old.All(ctx)
	old.Close()
	if err != nil {
		return fmt.Errorf("authstack: import %s: %w", path, err)
	}
	imported := 0
	for _, e := range all {
		ok, err := meta.ImportSignIn(ctx, metadata.SignIn(e))
		if err != nil {
			return fmt.Errorf("authstack: import %s: %s/%s: %w", path, e.Backend, e.Account, err)
		}
		if ok {
			imported++
		}
	}
	if err := os.Rename(path, dir.SignInsImported()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("authstack: imported %s but cannot rename it: %w (rename or remove it by hand)", path, err)
	}
	for _, side := range []string{"-wal", "-shm"} {
		_ = os.Remove(path + side)
	}
	log.Info("imported browser sign-ins into the metadata database; users keep their registry passwords",
		"file", path, "imported", imported, "kept_newer", len(all)-imported, "renamed_to", dir.SignInsImported())
	return nil
}
