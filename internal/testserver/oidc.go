package testserver

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/oauth2"
	"golang.org/x/text/language"
)

// OIDCUser is a user of the test OpenID provider.
type OIDCUser struct {
	Username, Password, Email string
	Groups                    []string
}

// OIDCProvider is a real OpenID provider for tests: zitadel's example OP
// (github.com/zitadel/oidc/v3, Apache-2.0) served in process on a random
// loopback port, with its code flow, PKCE, refresh tokens, userinfo,
// discovery and JWKS. Two additions make it useful here: a groups claim
// in ID tokens and userinfo, and users that can be disabled (their refresh
// tokens and userinfo then fail).
type OIDCProvider struct {
	// Issuer is the provider's URL, http://127.0.0.1:PORT.
	Issuer string
	// ClientID and ClientSecret are a confidential web client that may
	// redirect to any http://127.0.0.1 or localhost URL; SecretFile holds
	// the secret.
	ClientID, ClientSecret, SecretFile string
	// CIClientID is a second client whose ID tokens stand for a CI
	// system's (see IDToken).
	CIClientID string
	// LogPath is the provider's request log.
	LogPath string

	st *opStorage
}

// StartOIDCProvider starts the provider with users; it stops when the test
// ends.
func StartOIDCProvider(t testing.TB, users ...OIDCUser) *OIDCProvider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := &OIDCProvider{Issuer: "http://" + ln.Addr().String(), ClientID: "wharf", ClientSecret: "wharf-client-secret",
		CIClientID: "ci", LogPath: filepath.Join(dir, "oidc-provider.log"), SecretFile: filepath.Join(dir, "client-secret")}
	if err := os.WriteFile(p.SecretFile, []byte(p.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(p.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	us := &opUsers{users: map[string]*storage.User{}, groups: map[string][]string{}, disabled: map[string]bool{}}
	for i, u := range users {
		id := fmt.Sprintf("user-%d", i+1)
		us.users[id] = &storage.User{ID: id, Username: u.Username, Password: u.Password, Email: u.Email, EmailVerified: true,
			FirstName: u.Username, LastName: "Test", PreferredLanguage: language.English}
		us.groups[id] = u.Groups
	}
	redirects := []string{"http://127.0.0.1:*/**", "http://localhost:*/**"}
	clients := map[string]*storage.Client{
		p.ClientID:   storage.WebClient(p.ClientID, p.ClientSecret, redirects...),
		p.CIClientID: storage.WebClient(p.CIClientID, p.ClientSecret, redirects...),
	}
	p.st = &opStorage{Storage: storage.NewStorageWithClients(us, clients), users: us}
	router := exampleop.SetupServer(p.Issuer, p.st, nil, false)
	var logMu sync.Mutex
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logMu.Lock()
		fmt.Fprintf(logFile, "%s %s %s\n", time.Now().Format(time.RFC3339Nano), r.Method, r.URL.Path)
		logMu.Unlock()
		router.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		logFile.Close()
		if t.Failed() {
			t.Logf("OpenID provider log (%s):\n%s", p.LogPath, Tail(p.LogPath, 40))
		}
	})
	return p
}

// Disable makes the provider refuse the user's refresh tokens and userinfo
// from now on, as a provider does for a deactivated account.
func (p *OIDCProvider) Disable(username string) { p.st.users.setDisabled(username) }

// SetGroups changes the user's groups claim.
func (p *OIDCProvider) SetGroups(username string, groups []string) {
	p.st.users.setGroups(username, groups)
}

// loginForm finds the example OP's login form: its auth request id.
var loginForm = regexp.MustCompile(`name="id" value="([^"]+)"`)

// SignIn drives a browser through a sign-in that starts at startURL: it
// follows the redirects to the provider, submits its login form with the
// user's name and password, and follows the redirects back. It returns
// the last response's status and body. client must have a cookie jar.
func (p *OIDCProvider) SignIn(t testing.TB, client *http.Client, startURL, username, password string) (int, string) {
	t.Helper()
	resp, err := client.Get(startURL)
	if err != nil {
		t.Fatalf("sign-in: GET %s: %v", startURL, err)
	}
	body := readBody(t, resp)
	m := loginForm.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("sign-in: no login form at %s (status %d):\n%s", resp.Request.URL, resp.StatusCode, body)
	}
	form := url.Values{"id": {m[1]}, "username": {username}, "password": {password}}
	resp, err = client.PostForm(p.Issuer+"/login/username", form)
	if err != nil {
		t.Fatalf("sign-in: submitting the login form: %v", err)
	}
	return resp.StatusCode, readBody(t, resp)
}

// Browser returns an HTTP client with a cookie jar that follows
// redirects, as a browser does.
func Browser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// IDToken signs the user in with the CI client (the code flow with PKCE,
// as a CI system's identity provider would) and returns the ID token the
// provider issued, whose aud is CIClientID.
func (p *OIDCProvider) IDToken(t testing.TB, username, password string) string {
	t.Helper()
	ctx := context.Background()
	const redirect = "http://127.0.0.1:1/ci-callback"
	cfg := &oauth2.Config{ClientID: p.CIClientID, ClientSecret: p.ClientSecret, RedirectURL: redirect,
		Scopes:   []string{oidc.ScopeOpenID, oidc.ScopeEmail, oidc.ScopeProfile},
		Endpoint: oauth2.Endpoint{AuthURL: p.Issuer + "/auth", TokenURL: p.Issuer + "/oauth/token"}}
	verifier := oauth2.GenerateVerifier()
	start := cfg.AuthCodeURL("ci-state", oauth2.S256ChallengeOption(verifier))
	client := Browser(t)
	var code string
	client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirect) {
			code = req.URL.Query().Get("code")
			return http.ErrUseLastResponse
		}
		return nil
	}
	if status, body := p.SignIn(t, client, start, username, password); code == "" {
		t.Fatalf("CI sign-in: no code (status %d):\n%s", status, body)
	}
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("CI sign-in: exchanging the code: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("CI sign-in: no id_token")
	}
	return raw
}

// opUsers is the provider's user store.
type opUsers struct {
	mu       sync.Mutex
	users    map[string]*storage.User // by id
	groups   map[string][]string      // by id
	disabled map[string]bool          // by id
}

var _ storage.UserStore = (*opUsers)(nil)

func (u *opUsers) GetUserByID(id string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.users[id]
}

func (u *opUsers) GetUserByUsername(name string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range u.users {
		if x.Username == name {
			return x
		}
	}
	return nil
}

func (u *opUsers) ExampleClientID() string { return storage.ServiceUserID }

func (u *opUsers) idOf(name string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	for id, x := range u.users {
		if x.Username == name {
			return id
		}
	}
	return ""
}

func (u *opUsers) setDisabled(name string) {
	id := u.idOf(name)
	u.mu.Lock()
	defer u.mu.Unlock()
	u.disabled[id] = true
}

func (u *opUsers) setGroups(name string, groups []string) {
	id := u.idOf(name)
	u.mu.Lock()
	defer u.mu.Unlock()
	u.groups[id] = groups
}

func (u *opUsers) state(id string) (groups []string, disabled bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.groups[id]...), u.disabled[id]
}

// opStorage is the example storage with groups and disabled users.
type opStorage struct {
	*storage.Storage
	users *opUsers
}

// GetClientByClientID puts the userinfo claims (e-mail, profile) into ID
// tokens too, as many providers do, and accepts redirect URI patterns.
func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return globClient{c}, nil
}

type globClient struct{ op.Client }

func (c globClient) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c globClient) RedirectURIGlobs() []string           { return c.RedirectURIs() }
func (c globClient) PostLogoutRedirectURIGlobs() []string {
	return c.PostLogoutRedirectURIs()
}

func (s *opStorage) addGroups(userinfo *oidc.UserInfo, subject string) error {
	groups, disabled := s.users.state(subject)
	if disabled {
		return fmt.Errorf("user %s is deactivated", subject)
	}
	if groups != nil {
		userinfo.AppendClaims("groups", groups)
	}
	return nil
}

// SetUserinfoFromRequest fills ID tokens.
func (s *opStorage) SetUserinfoFromRequest(ctx context.Context, userinfo *oidc.UserInfo, token op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, userinfo, token, scopes); err != nil {
		return err
	}
	return s.addGroups(userinfo, token.GetSubject())
}

// SetUserinfoFromToken serves the userinfo endpoint.
func (s *opStorage) SetUserinfoFromToken(ctx context.Context, userinfo *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, userinfo, tokenID, subject, origin); err != nil {
		return err
	}
	return s.addGroups(userinfo, userinfo.Subject)
}

// TokenRequestByRefreshToken refuses the refresh tokens of disabled users.
func (s *opStorage) TokenRequestByRefreshToken(ctx context.Context, refreshToken string) (op.RefreshTokenRequest, error) {
	r, err := s.Storage.TokenRequestByRefreshToken(ctx, refreshToken)
	if err != nil {
		return nil, err
	}
	if _, disabled := s.users.state(r.GetSubject()); disabled {
		return nil, fmt.Errorf("user %s is deactivated", r.GetSubject())
	}
	return r, nil
}
