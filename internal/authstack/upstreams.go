package authstack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/buildinfo"
	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
	"wharf/internal/upstream"
	"wharf/internal/upstreamcreds"
)

// dockerHubHosts are the names of Docker Hub's registry, where a
// single-component name means library/<name>.
var dockerHubHosts = map[string]bool{"registry-1.docker.io": true, "index.docker.io": true, "docker.io": true}

// UpstreamCredentials is the store of the upstreams' credentials over
// meta, sealed with proxy.credentials_key_file or else the data
// directory's key (made on first use).
// changed, when set, is the audit log's hook for the changes.
func UpstreamCredentials(cfg config.Config, meta *metadata.Store, changed func(context.Context, accounts.Change)) *upstreamcreds.Store {
	opts := upstreamcreds.Options{KeyPath: cfg.Proxy.CredentialsKeyFile, Upstreams: []string{}}
	if opts.KeyPath == "" {
		opts.KeyPath, opts.CreateKey = datadir.New(cfg.Data).UpstreamCredentialsKey(), true
	}
	for _, u := range cfg.Proxy.Upstreams {
		opts.Upstreams = append(opts.Upstreams, u.WithDefaults().Name)
	}
	if changed != nil {
		opts.Changed = func(ctx context.Context, action, target string, err error) {
			changed(ctx, accounts.Change{Action: action, Target: target, Err: err})
		}
	}
	return upstreamcreds.New(meta, opts)
}

// ConfiguredCredential is the credential proxy.upstreams[i] gives (its
// password file read), zero when it gives none.
func ConfiguredCredential(i int, u config.Upstream) (upstream.Credential, error) {
	password := u.Password
	if u.PasswordFile != "" {
		b, err := os.ReadFile(u.PasswordFile)
		if err != nil {
			return upstream.Credential{}, fmt.Errorf("proxy.upstreams[%d].password_file: %w", i, err)
		}
		password = auth.Secret(strings.TrimRight(string(b), "\r\n"))
	}
	return upstream.Credential{Username: u.Username, Password: password}, nil
}

// UpstreamClient builds the client of one proxy upstream (proxy.upstreams[i]),
// reading its password file: what wharf serve's cache and wharf mirror
// status share. u has its defaults. With creds, the credential stored
// there under u.Name wins over the configuration's, and is read again at
// each token request, so that a change needs no restart.
func UpstreamClient(i int, u config.Upstream, creds *upstreamcreds.Store) (*upstream.Client, error) {
	configured, err := ConfiguredCredential(i, u)
	if err != nil {
		return nil, err
	}
	opts := upstream.Options{URL: u.URL, Username: configured.Username, Password: configured.Password,
		CAFile: u.CAFile, InsecureSkipVerify: u.InsecureSkipVerify, Timeout: u.Timeout.Std(),
		UserAgent: "wharf/" + buildinfo.Version()}
	if creds != nil {
		opts.Credentials = func(ctx context.Context) (upstream.Credential, error) {
			c, err := creds.Get(ctx, u.Name)
			if errors.Is(err, upstreamcreds.ErrNotFound) {
				return configured, nil
			}
			return upstream.Credential{Username: c.Username, Password: c.Password}, err
		}
	}
	c, err := upstream.New(opts)
	if err != nil {
		return nil, fmt.Errorf("proxy.upstreams[%d]: %w", i, err)
	}
	return c, nil
}

// IsDockerHub reports whether u is Docker Hub, where single-component
// names mean library/<name>.
func IsDockerHub(u config.Upstream) bool {
	pu, err := url.Parse(u.URL)
	return err == nil && dockerHubHosts[pu.Hostname()]
}

// Where an upstream's credential comes from.
const (
	CredentialsDatabase = "database"
	CredentialsConfig   = "config"
	CredentialsNone     = "none"
)

// UpstreamCredentialState is where an upstream's credential comes from, as
// wharf mirror credentials ls, wharf mirror status and the admin API show
// it: never the password.
type UpstreamCredentialState struct {
	Upstream string `json:"upstream"`
	// Source is CredentialsDatabase, CredentialsConfig or CredentialsNone
	// (anonymous).
	Source   string    `json:"source"`
	Username string    `json:"username,omitempty"`
	Updated  time.Time `json:"updated,omitzero"`
	KeyID    string    `json:"key_id,omitempty"`
	// OverridesConfig says the configuration gives a credential too, which
	// the database's replaces.
	OverridesConfig bool `json:"overrides_config"`
	// Configured is false for a stored credential of an upstream the
	// configuration does not have: nothing uses it.
	Configured bool `json:"configured"`
	// Error says why the stored credential does not open on this server,
	// with the fix; pulls through the upstream fail until it is fixed.
	Error string `json:"error,omitempty"`
}

// UpstreamCredentialStates lists every configured upstream with the
// source of its credential, then the stored credentials no configured
// upstream uses.
func UpstreamCredentialStates(ctx context.Context, cfg config.Config, store *upstreamcreds.Store) ([]UpstreamCredentialState, error) {
	stored, err := store.List(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]upstreamcreds.Info{}
	for _, in := range stored {
		byName[in.Upstream] = in
	}
	var out []UpstreamCredentialState
	for _, u := range cfg.Proxy.Upstreams {
		u = u.WithDefaults()
		st := UpstreamCredentialState{Upstream: u.Name, Source: CredentialsNone, Configured: true, Username: u.Username}
		if u.Username != "" {
			st.Source = CredentialsConfig
		}
		if in, ok := byName[u.Name]; ok {
			delete(byName, u.Name)
			st.OverridesConfig = st.Source == CredentialsConfig
			st.Source, st.Username, st.Updated, st.KeyID = CredentialsDatabase, in.Username, in.Updated, in.KeyID
			if _, err := store.Get(ctx, u.Name); err != nil {
				st.Error = strings.TrimPrefix(err.Error(), "upstreamcreds: ")
			}
		}
		out = append(out, st)
	}
	for _, in := range stored {
		if _, ok := byName[in.Upstream]; ok {
			out = append(out, UpstreamCredentialState{Upstream: in.Upstream, Source: CredentialsDatabase, Username: in.Username,
				Updated: in.Updated, KeyID: in.KeyID})
		}
	}
	return out, nil
}
