package upstreamcreds

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"wharf/internal/auth"
	"wharf/internal/metadata"
)

// Sentinels of the store.
var (
	// ErrNotFound is an upstream without a stored credential.
	ErrNotFound = errors.New("upstreamcreds: no credential stored")
	// ErrInvalid is a credential Set refuses; the message says why and
	// never holds the password.
	ErrInvalid = errors.New("upstreamcreds: invalid credential")
	// ErrUnknownUpstream is a name no configured upstream has.
	ErrUnknownUpstream = errors.New("upstreamcreds: no such upstream")
)

// Audit actions of the changes.
const (
	ActionSet    = "upstream.credentials.set"
	ActionRemove = "upstream.credentials.remove"
)

// Credential is what an upstream is authenticated with.
type Credential struct {
	Username string
	Password auth.Secret
}

// Info is a stored credential as listings show it: never its password.
type Info struct {
	Upstream string    `json:"upstream"`
	Username string    `json:"username"`
	KeyID    string    `json:"key_id"`
	Updated  time.Time `json:"updated"`
}

// Limits of what Set accepts.
const (
	MaxUsername = 255
	// MaxPassword fits a cloud registry's JSON key (GCR's is ~2.3 KB).
	MaxPassword = 16 << 10
)

// Options configure a Store.
type Options struct {
	// KeyPath is the key file; CreateKey lets Set make it when it does not
	// exist (the data directory's default key: a configured one must).
	KeyPath   string
	CreateKey bool
	// Upstreams are the names Set accepts (the configured upstreams); nil
	// accepts any. Remove takes any, so that a removed upstream's
	// credential can go too.
	Upstreams []string
	// Changed, when set, is told of every Set and Remove asked, made (err
	// nil) or refused: the audit log. target is "upstream NAME".
	Changed func(ctx context.Context, action, target string, err error)
}

// Store keeps the credentials in the metadata database, sealed with the
// key at its key path. Its methods are safe for concurrent use.
type Store struct {
	meta *metadata.Store
	opts Options
}

// New returns the store over meta.
func New(meta *metadata.Store, opts Options) *Store {
	return &Store{meta: meta, opts: opts}
}

// KeyPath is the key file the store seals with.
func (s *Store) KeyPath() string { return s.opts.KeyPath }

// Upstreams are the configured names, nil when any is accepted.
func (s *Store) Upstreams() []string { return s.opts.Upstreams }

func (s *Store) changed(ctx context.Context, action, upstream string, err error) {
	if s.opts.Changed != nil {
		s.opts.Changed(ctx, action, "upstream "+upstream, err)
	}
}

// loadKey reads the key file as it is now, at each use: a replaced file
// takes effect at once, and the file is a few bytes next to a token
// request's round trip.
func (s *Store) loadKey(create bool) (*Key, error) {
	if create && s.opts.CreateKey {
		return EnsureKey(s.opts.KeyPath)
	}
	return LoadKey(s.opts.KeyPath)
}

// Set stores username and password for upstream, replacing what was
// there, and returns what List will show of it.
func (s *Store) Set(ctx context.Context, upstream, username string, password auth.Secret) (info Info, err error) {
	defer func() { s.changed(ctx, ActionSet, upstream, err) }()
	if s.opts.Upstreams != nil && !slices.Contains(s.opts.Upstreams, upstream) {
		return Info{}, fmt.Errorf("%w %q; the configured upstreams are %s (proxy.upstreams[].name: the prefix, or \"mirror\")",
			ErrUnknownUpstream, upstream, strings.Join(s.opts.Upstreams, ", "))
	}
	if err := checkCredential(username, password); err != nil {
		return Info{}, err
	}
	k, err := s.loadKey(true)
	if err != nil {
		return Info{}, err
	}
	sealed, err := k.seal(upstream, username, []byte(password.Reveal()))
	if err != nil {
		return Info{}, err
	}
	c := metadata.UpstreamCredential{Upstream: upstream, Username: username, Sealed: sealed, KeyID: k.ID(), Updated: time.Now().UTC()}
	if err := s.meta.PutUpstreamCredential(ctx, c); err != nil {
		return Info{}, fmt.Errorf("upstreamcreds: %w", err)
	}
	return infoOf(c), nil
}

// checkCredential refuses what no registry would take, without echoing it.
func checkCredential(username string, password auth.Secret) error {
	switch {
	case username == "" || len(username) > MaxUsername:
		return fmt.Errorf("%w: the username must be 1 to %d bytes long", ErrInvalid, MaxUsername)
	case password == "" || len(password) > MaxPassword:
		return fmt.Errorf("%w: the password must be 1 to %d bytes long", ErrInvalid, MaxPassword)
	}
	for _, r := range username {
		if unicode.IsControl(r) || r == ':' {
			return fmt.Errorf("%w: the username holds a control character or a colon, which Basic authentication cannot carry", ErrInvalid)
		}
	}
	if strings.ContainsAny(password.Reveal(), "\r\n\x00") {
		return fmt.Errorf("%w: the password holds a line break or a NUL byte", ErrInvalid)
	}
	return nil
}

// Remove deletes upstream's credential: ErrNotFound when none was stored.
func (s *Store) Remove(ctx context.Context, upstream string) (err error) {
	defer func() { s.changed(ctx, ActionRemove, upstream, err) }()
	err = s.meta.DeleteUpstreamCredential(ctx, upstream)
	if errors.Is(err, metadata.ErrNotFound) {
		return fmt.Errorf("%w for upstream %q", ErrNotFound, upstream)
	}
	if err != nil {
		return fmt.Errorf("upstreamcreds: %w", err)
	}
	return nil
}

// List returns every stored credential without its password.
func (s *Store) List(ctx context.Context) ([]Info, error) {
	rows, err := s.meta.UpstreamCredentials(ctx)
	if err != nil {
		return nil, fmt.Errorf("upstreamcreds: %w", err)
	}
	out := make([]Info, 0, len(rows))
	for _, r := range rows {
		out = append(out, infoOf(r))
	}
	return out, nil
}

func infoOf(c metadata.UpstreamCredential) Info {
	return Info{Upstream: c.Upstream, Username: c.Username, KeyID: c.KeyID, Updated: c.Updated}
}

// Get returns upstream's credential, opened: ErrNotFound when none is
// stored, and an error naming the key it needs when this server's key is
// another.
func (s *Store) Get(ctx context.Context, upstream string) (Credential, error) {
	row, err := s.meta.UpstreamCredentialOf(ctx, upstream)
	if errors.Is(err, metadata.ErrNotFound) {
		return Credential{}, fmt.Errorf("%w for upstream %q", ErrNotFound, upstream)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("upstreamcreds: %w", err)
	}
	k, err := s.loadKey(false)
	if err != nil {
		return Credential{}, fmt.Errorf("%w (the credential of upstream %q is sealed with key %s; set proxy.credentials_key_file to that key, or set the credential again with `wharf mirror credentials set %s`)",
			err, upstream, row.KeyID, upstream)
	}
	if k.ID() != row.KeyID {
		return Credential{}, fmt.Errorf("upstreamcreds: the credential of upstream %q is sealed with key %s, but this server's key %s is %s: give this server the key file it was sealed with (proxy.credentials_key_file; replicas must share one), or set it again with `wharf mirror credentials set %s --username USER --password-stdin`",
			upstream, row.KeyID, k.Path(), k.ID(), upstream)
	}
	pt, err := k.open(upstream, row.Username, row.Sealed)
	if err != nil {
		return Credential{}, fmt.Errorf("upstreamcreds: the credential of upstream %q %w; set it again with `wharf mirror credentials set %s --username USER --password-stdin`", upstream, err, upstream)
	}
	return Credential{Username: row.Username, Password: auth.Secret(pt)}, nil
}
