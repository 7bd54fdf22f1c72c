package htpasswd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/password"
)

// Authenticator checks passwords against an htpasswd file.
type Authenticator struct {
	path string
	log  *slog.Logger

	reload sync.Mutex // one reader of the file at a time
	state  atomic.Pointer[state]
}

type state struct {
	users map[string][]byte
	dummy []byte
	info  os.FileInfo // of the file these users came from
}

var _ authn.Confirmer = (*Authenticator)(nil)

// New loads the file at path; log (nil discards) hears about reloads.
func New(path string, log *slog.Logger) (*Authenticator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{path: path, log: log.With("component", "authn", "backend", "htpasswd", "path", path)}
	if _, err := a.current(context.Background()); err != nil {
		return nil, err
	}
	return a, nil
}

// current returns the users, re-reading the file if it changed since the
// last read (another file renamed into place, or a new mtime or size).
// A file that cannot be read or parsed fails the login with an error
// rather than keep serving users an operator may just have removed; the
// next login tries again.
func (a *Authenticator) current(ctx context.Context) (*state, error) {
	info, err := os.Stat(a.path)
	if err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	if s := a.state.Load(); s != nil && unchanged(s.info, info) {
		return s, nil
	}
	a.reload.Lock()
	defer a.reload.Unlock()
	if s := a.state.Load(); s != nil && unchanged(s.info, info) {
		return s, nil // another login reloaded it meanwhile
	}
	s, err := load(a.path)
	if err != nil {
		return nil, err
	}
	old := a.state.Swap(s)
	if old != nil {
		a.log.InfoContext(ctx, "htpasswd file reloaded", "users", len(s.users))
	}
	return s, nil
}

func unchanged(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

func load(path string) (*state, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	defer f.Close()
	// Stat the open file, so the info describes exactly what is read.
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	users, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("htpasswd: %s: %w", path, err)
	}
	hashes := make([][]byte, 0, len(users))
	for _, h := range users {
		hashes = append(hashes, h)
	}
	return &state{users: users, dummy: password.DummyHash(password.TypicalCost(hashes)), info: info}, nil
}

// maxFileSize bounds what Parse reads; a million users is about 70 MB.
const maxFileSize = 256 << 20

// Parse reads htpasswd lines: "user:hash", blank lines and lines starting
// with "#" ignored, surrounding white space trimmed. Every problem is
// reported at once, each naming its line; an error never contains a hash
// or password.
func Parse(r io.Reader) (map[string][]byte, error) {
	users := map[string][]byte{}
	first := map[string]int{}
	var errs []error
	sc := bufio.NewScanner(io.LimitReader(r, maxFileSize))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		user, hash, ok := strings.Cut(string(line), ":")
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("line %d: not user:hash", n))
		case user == "":
			errs = append(errs, fmt.Errorf("line %d: empty user name", n))
		case first[user] != 0:
			errs = append(errs, fmt.Errorf("line %d: user %q repeated (first on line %d)", n, user, first[user]))
		default:
			if err := password.CheckHash(hash); err != nil {
				errs = append(errs, fmt.Errorf("line %d: user %q: %w", n, user, err))
				continue
			}
			first[user] = n
			users[user] = []byte(hash)
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return users, nil
}

// Authenticate implements authn.Authenticator. A user not in the file is
// NoMatch, after the same bcrypt work as a wrong password. htpasswd users
// have no labels.
func (a *Authenticator) Authenticate(ctx context.Context, user string, pw auth.Secret) (authn.Result, auth.Labels, error) {
	s, err := a.current(ctx)
	if err != nil {
		return authn.WrongPassword, nil, err
	}
	hash, ok := s.users[user]
	if !ok {
		if user != "" {
			if _, err := password.Verify(ctx, s.dummy, pw); err != nil {
				return authn.WrongPassword, nil, err
			}
		}
		return authn.NoMatch, nil, nil
	}
	ok, err = password.Verify(ctx, hash, pw)
	if err != nil || !ok {
		return authn.WrongPassword, nil, err
	}
	return authn.Accepted, authn.WithStamp(nil, authn.Stamp(hash)), nil
}

// CanConfirm implements authn.Confirmer: every session can be confirmed.
func (a *Authenticator) CanConfirm(string) bool { return true }

// Confirm implements authn.Confirmer: the user is still in the file (as
// read now) with the password hash whose stamp the session holds.
func (a *Authenticator) Confirm(ctx context.Context, user, stamp string) (authn.Result, auth.Labels, error) {
	s, err := a.current(ctx)
	if err != nil {
		return authn.WrongPassword, nil, err
	}
	if hash, ok := s.users[user]; !ok || !authn.SameStamp(authn.Stamp(hash), stamp) {
		return authn.WrongPassword, nil, nil
	}
	return authn.Accepted, nil, nil
}

// Name implements authn.Authenticator.
func (a *Authenticator) Name() string { return "htpasswd" }

// Users is the number of users in the file as last read.
func (a *Authenticator) Users() int {
	if s := a.state.Load(); s != nil {
		return len(s.users)
	}
	return 0
}
