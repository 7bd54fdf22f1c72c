package signin

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"wharf/internal/auth"
)

// ErrNotFound means the store holds no sign-in for the account.
var ErrNotFound = errors.New("signin: no sign-in for this account")

// Token is what the provider gave at sign-in, kept to re-validate the user
// later: the access token and, where the provider issues one, the refresh
// token.
type Token struct {
	AccessToken  string    `json:"access_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

// Record is one account's sign-in: the SHA-256 of the registry password
// Wharf generated (the password itself is never stored), the labels the
// provider gave, the provider's token, and when the user must be checked
// with the provider again.
type Record struct {
	Backend      string // the provider's name: oidc, github, gitlab, google
	Account      string
	PasswordHash [sha256.Size]byte
	Labels       auth.Labels
	Token        Token
	Created      time.Time
	RevalidateAt time.Time // re-validate with the provider after this
	ExpiresAt    time.Time // the password stops working at this time
}

// Store keeps sign-ins. One record per backend and account: a new sign-in
// replaces the previous password, as in docker_auth.
//
// Wharf keeps them in its metadata database (the composition root's
// Store); the SQLite file of earlier releases is read once to import it.
type Store interface {
	// Get returns the account's record or ErrNotFound.
	Get(ctx context.Context, backend, account string) (Record, error)
	// Put stores r, replacing any record of the account.
	Put(ctx context.Context, r Record) error
	// Update stores r's labels, token and times if the account's record
	// still has r's password hash (a sign-in in between wins), and
	// reports whether it did.
	Update(ctx context.Context, r Record) (bool, error)
	// Delete removes the account's record if it still has hash.
	Delete(ctx context.Context, backend, account string, hash [sha256.Size]byte) error
	Close() error
}

// SQLiteStore is a Store in a SQLite file.
type SQLiteStore struct {
	db *sql.DB
}

var _ Store = (*SQLiteStore)(nil)

const schema = `CREATE TABLE IF NOT EXISTS sign_ins (
	backend       TEXT    NOT NULL,
	account       TEXT    NOT NULL,
	password_hash BLOB    NOT NULL,
	labels        TEXT    NOT NULL,
	token         TEXT    NOT NULL,
	created_at    INTEGER NOT NULL,
	revalidate_at INTEGER NOT NULL,
	expires_at    INTEGER NOT NULL,
	PRIMARY KEY (backend, account)
)`

// OpenSQLite opens (creating it, readable by its owner only) the store at
// path.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("signin: store: %q: want a plain file path", path)
	}
	// Created with 0600 before SQLite opens it: the file holds the
	// providers' tokens.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("signin: store: %w", err)
	}
	f.Close()
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("signin: store %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("signin: store %s: %w", path, err)
	}
	return &SQLiteStore{db: db}, nil
}

// Close closes the database.
func (s *SQLiteStore) Close() error { return s.db.Close() }

// Get implements Store.
func (s *SQLiteStore) Get(ctx context.Context, backend, account string) (Record, error) {
	var hash []byte
	var labels, tok string
	var created, reval, exp int64
	err := s.db.QueryRowContext(ctx, `SELECT password_hash, labels, token, created_at, revalidate_at, expires_at
		FROM sign_ins WHERE backend = ? AND account = ?`, backend, account).Scan(&hash, &labels, &tok, &created, &reval, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("signin: store: %w", err)
	}
	return DecodeRecord(Encoded{Backend: backend, Account: account, PasswordHash: hash, Labels: labels, Token: tok,
		Created: time.Unix(created, 0), RevalidateAt: time.Unix(reval, 0), ExpiresAt: time.Unix(exp, 0)})
}

// All returns every record of the file, for the one-time import into the
// metadata database.
func (s *SQLiteStore) All(ctx context.Context) ([]Encoded, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT backend, account, password_hash, labels, token, created_at, revalidate_at, expires_at
		FROM sign_ins ORDER BY backend, account`)
	if err != nil {
		return nil, fmt.Errorf("signin: store: %w", err)
	}
	defer rows.Close()
	var out []Encoded
	for rows.Next() {
		var e Encoded
		var created, reval, exp int64
		if err := rows.Scan(&e.Backend, &e.Account, &e.PasswordHash, &e.Labels, &e.Token, &created, &reval, &exp); err != nil {
			return nil, fmt.Errorf("signin: store: %w", err)
		}
		e.Created, e.RevalidateAt, e.ExpiresAt = time.Unix(created, 0), time.Unix(reval, 0), time.Unix(exp, 0)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("signin: store: %w", err)
	}
	return out, nil
}

// Encoded is a Record as a database keeps it: labels and token as JSON.
type Encoded struct {
	Backend, Account                 string
	PasswordHash                     []byte
	Labels, Token                    string
	Created, RevalidateAt, ExpiresAt time.Time
}

// EncodeRecord turns r into its stored form.
func EncodeRecord(r Record) (Encoded, error) {
	labels, tok, err := encode(r)
	if err != nil {
		return Encoded{}, err
	}
	return Encoded{Backend: r.Backend, Account: r.Account, PasswordHash: r.PasswordHash[:], Labels: labels, Token: tok,
		Created: r.Created, RevalidateAt: r.RevalidateAt, ExpiresAt: r.ExpiresAt}, nil
}

// DecodeRecord reads a stored record back, refusing a malformed one.
func DecodeRecord(e Encoded) (Record, error) {
	r := Record{Backend: e.Backend, Account: e.Account, Created: e.Created, RevalidateAt: e.RevalidateAt, ExpiresAt: e.ExpiresAt}
	if len(e.PasswordHash) != sha256.Size {
		return Record{}, fmt.Errorf("signin: store: %s/%s: malformed password hash", e.Backend, e.Account)
	}
	copy(r.PasswordHash[:], e.PasswordHash)
	if err := json.Unmarshal([]byte(e.Labels), &r.Labels); err != nil {
		return Record{}, fmt.Errorf("signin: store: %s/%s: labels: %w", e.Backend, e.Account, err)
	}
	if err := json.Unmarshal([]byte(e.Token), &r.Token); err != nil {
		return Record{}, fmt.Errorf("signin: store: %s/%s: malformed token", e.Backend, e.Account)
	}
	return r, nil
}

func encode(r Record) (labels, tok string, err error) {
	l, err := json.Marshal(r.Labels)
	if err != nil {
		return "", "", fmt.Errorf("signin: store: labels: %w", err)
	}
	t, err := json.Marshal(r.Token)
	if err != nil {
		return "", "", errors.New("signin: store: cannot encode the token")
	}
	return string(l), string(t), nil
}

// Put implements Store.
func (s *SQLiteStore) Put(ctx context.Context, r Record) error {
	labels, tok, err := encode(r)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO sign_ins
		(backend, account, password_hash, labels, token, created_at, revalidate_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (backend, account) DO UPDATE SET password_hash = excluded.password_hash,
		labels = excluded.labels, token = excluded.token, created_at = excluded.created_at,
		revalidate_at = excluded.revalidate_at, expires_at = excluded.expires_at`,
		r.Backend, r.Account, r.PasswordHash[:], labels, tok, r.Created.Unix(), r.RevalidateAt.Unix(), r.ExpiresAt.Unix())
	if err != nil {
		return fmt.Errorf("signin: store: %w", err)
	}
	return nil
}

// Update implements Store.
func (s *SQLiteStore) Update(ctx context.Context, r Record) (bool, error) {
	labels, tok, err := encode(r)
	if err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE sign_ins SET labels = ?, token = ?, revalidate_at = ?
		WHERE backend = ? AND account = ? AND password_hash = ?`,
		labels, tok, r.RevalidateAt.Unix(), r.Backend, r.Account, r.PasswordHash[:])
	if err != nil {
		return false, fmt.Errorf("signin: store: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("signin: store: %w", err)
	}
	return n == 1, nil
}

// Delete implements Store.
func (s *SQLiteStore) Delete(ctx context.Context, backend, account string, hash [sha256.Size]byte) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sign_ins WHERE backend = ? AND account = ? AND password_hash = ?`,
		backend, account, hash[:]); err != nil {
		return fmt.Errorf("signin: store: %w", err)
	}
	return nil
}
