package signin_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/signin"
	"wharf/internal/testserver"
)

var (
	alice = testserver.OIDCUser{Username: "alice", Password: "alice-pw", Email: "alice@example.com", Groups: []string{"registry-admins", "dev"}}
	bob   = testserver.OIDCUser{Username: "bob", Password: "bob-pw", Email: "bob@example.com"}
)

// rig is a Wharf-side sign-in against a real OpenID provider.
type rig struct {
	op    *testserver.OIDCProvider
	p     *signin.OIDC
	login *signin.Login
	authn *signin.Authenticator
	store *signin.SQLiteStore
	srv   *httptest.Server
	clock *clock
}

const (
	revalidate = time.Hour
	lifetime   = 24 * time.Hour
)

func newRig(t *testing.T, scopes ...string) *rig {
	t.Helper()
	testserver.SkipIfShort(t)
	op := testserver.StartOIDCProvider(t, alice, bob)
	if scopes == nil {
		scopes = []string{"openid", "email", "offline_access"}
	}
	p, err := signin.NewOIDC(signin.OIDCConfig{Name: "oidc", Title: "OpenID Connect", Issuer: op.Issuer, ClientID: op.ClientID,
		ClientSecret: auth.Secret(op.ClientSecret), Scopes: scopes, UserClaim: "email",
		Labels: map[string]string{"groups": "groups"}, HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	store, err := signin.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "sign-ins.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	c := &clock{t: time.Now()}
	r := &rig{op: op, p: p, store: store, clock: c}
	r.login, err = signin.NewLogin(signin.LoginConfig{Provider: p, Store: store, CallbackPath: "/auth/oidc/callback",
		StartPath: "/auth/oidc/login", Public: func(r *http.Request) (string, string) { return "http", r.Host },
		RevalidateAfter: revalidate, PasswordLifetime: lifetime, Timeout: 10 * time.Second, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	r.authn, err = signin.NewAuthenticator(signin.AuthenticatorConfig{Provider: p, Store: store,
		RevalidateAfter: revalidate, Timeout: 10 * time.Second, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/auth/oidc/login", r.login.Start)
	mux.HandleFunc("/auth/oidc/callback", r.login.Callback)
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

// signIn runs the whole browser flow and returns the registry password.
func (r *rig) signIn(t *testing.T, u testserver.OIDCUser) string {
	t.Helper()
	status, body := r.op.SignIn(t, testserver.Browser(t), r.srv.URL+"/auth/oidc/login", u.Username, u.Password)
	m := passwordRE.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil {
		t.Fatalf("sign-in of %s: status %d, no password:\n%s", u.Username, status, body)
	}
	if !strings.Contains(body, u.Email) {
		t.Errorf("the result page does not name the account %s", u.Email)
	}
	return m[1]
}

// callbackURL signs in but stops before the browser reaches Wharf's
// callback, returning the browser and the callback URL.
func (r *rig) callbackURL(t *testing.T, u testserver.OIDCUser) (*http.Client, string) {
	t.Helper()
	b := testserver.Browser(t)
	var cb string
	b.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/auth/oidc/callback" {
			cb = req.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}
	r.op.SignIn(t, b, r.srv.URL+"/auth/oidc/login", u.Username, u.Password)
	if cb == "" {
		t.Fatal("the provider never redirected to the callback")
	}
	b.CheckRedirect = nil
	return b, cb
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, sb.String()
}

func authenticate(t *testing.T, a authn.Authenticator, user, pw string) (authn.Result, auth.Labels) {
	t.Helper()
	res, labels, err := a.Authenticate(context.Background(), user, auth.Secret(pw))
	if err != nil {
		t.Fatalf("Authenticate(%s): %v", user, err)
	}
	authn.TakeStamp(labels)
	return res, labels
}

// TestOIDCSessionsEndWithTheSignIn confirms a docker login session the way the
// token server does at each refresh: it ends when a new sign-in replaces
// the password, and when the provider no longer admits the user.
func TestOIDCSessionsEndWithTheSignIn(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	var cf authn.Confirmer = r.authn
	login := func(user, pw string) string {
		t.Helper()
		res, labels, err := r.authn.Authenticate(ctx, user, auth.Secret(pw))
		if err != nil || res != authn.Accepted {
			t.Fatalf("login: %v, %v", res, err)
		}
		stamp := authn.TakeStamp(labels)
		if !cf.CanConfirm(stamp) {
			t.Fatalf("CanConfirm(a sign-in's stamp) = false")
		}
		return stamp
	}
	confirm := func(step, user, stamp string, want authn.Result) {
		t.Helper()
		if res, _, err := cf.Confirm(ctx, user, stamp); res != want || err != nil {
			t.Errorf("%s: Confirm = %v, %v; want %v", step, res, err, want)
		}
	}
	first := login(alice.Email, r.signIn(t, alice))
	confirm("signed in", alice.Email, first, authn.Accepted)
	second := login(alice.Email, r.signIn(t, alice))
	confirm("signed in again: the first password is replaced", alice.Email, first, authn.WrongPassword)
	confirm("signed in again", alice.Email, second, authn.Accepted)

	r.op.Disable(alice.Username)
	confirm("disabled at the provider, within revalidate_after", alice.Email, second, authn.Accepted)
	r.clock.Add(revalidate + time.Minute)
	confirm("disabled at the provider, re-validated", alice.Email, second, authn.WrongPassword)
}

func TestOIDCSignInGivesAPasswordWithGroups(t *testing.T) {
	r := newRig(t)
	pw := r.signIn(t, alice)
	res, labels := authenticate(t, r.authn, alice.Email, pw)
	if res != authn.Accepted {
		t.Fatalf("the new password: %v", res)
	}
	if diff := cmp.Diff(auth.Labels{"groups": {"dev", "registry-admins"}}, labels); diff != "" {
		t.Errorf("labels from the groups claim (-want +got):\n%s", diff)
	}
	if res, _ := authenticate(t, r.authn, alice.Email, pw+"x"); res != authn.WrongPassword {
		t.Errorf("a wrong password: %v", res)
	}
	if res, _ := authenticate(t, r.authn, bob.Email, pw); res != authn.NoMatch {
		t.Errorf("an account that never signed in: %v; want no match", res)
	}
	// Signing in again replaces the password.
	pw2 := r.signIn(t, alice)
	if res, _ := authenticate(t, r.authn, alice.Email, pw); res != authn.WrongPassword {
		t.Errorf("the first password after a second sign-in: %v; want wrong password", res)
	}
	if res, _ := authenticate(t, r.authn, alice.Email, pw2); res != authn.Accepted {
		t.Errorf("the second password: %v", res)
	}
	rec, err := r.store.Get(context.Background(), "oidc", alice.Email)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rec.PasswordHash[:]), pw2) || rec.Token.RefreshToken == "" {
		t.Errorf("the store should hold the password's hash and a refresh token: %+v", rec.Token.Expiry)
	}
}

func TestOIDCCallbackRefusesForgedAndReplayedAnswers(t *testing.T) {
	r := newRig(t)
	b, cb := r.callbackURL(t, alice)
	u, _ := url.Parse(cb)
	q := u.Query()

	forged := *u
	fq := u.Query()
	fq.Set("state", q.Get("state")+"x")
	forged.RawQuery = fq.Encode()
	if status, body := get(t, b, forged.String()); status != http.StatusBadRequest || !strings.Contains(body, "not started in this browser") {
		t.Errorf("state that does not match the cookie: %d\n%s", status, body)
	}
	// The mismatch cleared the cookie: start again in a new browser and
	// try the good answer from a browser that never started it.
	_, cb = r.callbackURL(t, alice)
	if status, _ := get(t, testserver.Browser(t), cb); status != http.StatusBadRequest {
		t.Errorf("the answer in another browser: %d; want 400", status)
	}
	b, cb = r.callbackURL(t, alice)
	status, body := get(t, b, cb)
	if status != http.StatusOK || !passwordRE.MatchString(body) {
		t.Fatalf("the genuine answer: %d\n%s", status, body)
	}
	if status, body := get(t, b, cb); status != http.StatusBadRequest || passwordRE.MatchString(body) {
		t.Errorf("a replayed answer: %d; want 400 and no password", status)
	}
}

// exchangeWith signs in with the provider directly and exchanges the code
// with the attempt as modified by change.
func exchangeWith(t *testing.T, r *rig, change func(*signin.Attempt)) error {
	t.Helper()
	ctx := context.Background()
	a := signin.Attempt{State: "s-" + t.Name(), Nonce: "n-1", Verifier: "v-0123456789012345678901234567890123456789012",
		RedirectURL: "http://127.0.0.1:1/cb"}
	target, err := r.p.AuthCodeURL(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	b := testserver.Browser(t)
	var code string
	b.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), a.RedirectURL) {
			code = req.URL.Query().Get("code")
			return http.ErrUseLastResponse
		}
		return nil
	}
	r.op.SignIn(t, b, target, alice.Username, alice.Password)
	if code == "" {
		t.Fatal("no code")
	}
	change(&a)
	_, err = r.p.Exchange(ctx, a, code)
	return err
}

func TestOIDCExchangeChecksNonceAndPKCE(t *testing.T) {
	r := newRig(t)
	if err := exchangeWith(t, r, func(*signin.Attempt) {}); err != nil {
		t.Fatalf("an untouched exchange: %v", err)
	}
	if err := exchangeWith(t, r, func(a *signin.Attempt) { a.Nonce = "n-2" }); err == nil || !strings.Contains(err.Error(), "nonce") {
		t.Errorf("an ID token with another nonce: %v; want a nonce error", err)
	}
	if err := exchangeWith(t, r, func(a *signin.Attempt) { a.Verifier = "" }); err == nil {
		t.Error("an exchange without the PKCE verifier succeeded")
	}
	if err := exchangeWith(t, r, func(a *signin.Attempt) { a.Verifier = strings.Repeat("w", 43) }); err == nil {
		t.Error("an exchange with another PKCE verifier succeeded")
	}
}

func TestOIDCPasswordExpires(t *testing.T) {
	r := newRig(t)
	pw := r.signIn(t, alice)
	r.clock.Add(lifetime)
	if res, _ := authenticate(t, r.authn, alice.Email, pw); res != authn.WrongPassword {
		t.Errorf("a password past its lifetime: %v; want wrong password", res)
	}
}

func TestOIDCRevalidationRefreshesAndRevokes(t *testing.T) {
	r := newRig(t)
	pw := r.signIn(t, alice)
	r.op.SetGroups(alice.Username, []string{"dev"})
	r.clock.Add(revalidate + time.Minute)
	res, labels := authenticate(t, r.authn, alice.Email, pw)
	if res != authn.Accepted {
		t.Fatalf("after revalidate_after, with the user still active: %v", res)
	}
	if diff := cmp.Diff(auth.Labels{"groups": {"dev"}}, labels); diff != "" {
		t.Errorf("labels after re-validation (-want +got):\n%s", diff)
	}
	r.op.Disable(alice.Username)
	// Within revalidate_after nothing is asked.
	if res, _ := authenticate(t, r.authn, alice.Email, pw); res != authn.Accepted {
		t.Errorf("before the next re-validation: %v", res)
	}
	r.clock.Add(revalidate + time.Minute)
	if res, _ := authenticate(t, r.authn, alice.Email, pw); res != authn.WrongPassword {
		t.Errorf("a user the provider disabled: %v; want wrong password", res)
	}
	if _, err := r.store.Get(context.Background(), "oidc", alice.Email); !errors.Is(err, signin.ErrNotFound) {
		t.Errorf("the revoked sign-in is still stored: %v", err)
	}
}

func TestOIDCRevalidationWithoutRefreshTokenUsesUserinfo(t *testing.T) {
	r := newRig(t, "openid", "email")
	pw := r.signIn(t, bob)
	rec, err := r.store.Get(context.Background(), "oidc", bob.Email)
	if err != nil || rec.Token.RefreshToken != "" {
		t.Fatalf("without offline_access the provider should give no refresh token: %v %v", err, rec.Token.RefreshToken != "")
	}
	r.clock.Add(revalidate + time.Minute)
	if res, _ := authenticate(t, r.authn, bob.Email, pw); res != authn.Accepted {
		t.Errorf("userinfo with a live access token: %v", res)
	}
}

func TestIDTokenAsPassword(t *testing.T) {
	r := newRig(t)
	idt := r.op.IDToken(t, alice.Username, alice.Password)
	newAuth := func(audiences ...string) authn.Authenticator {
		a, err := signin.NewIDTokenAuthenticator(r.authn, &signin.IDTokenConfig{Issuer: r.op.Issuer, Audiences: audiences, UserClaim: "email",
			Labels: map[string]string{"groups": "groups"}, HTTPClient: &http.Client{Timeout: 10 * time.Second}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := newAuth(r.op.CIClientID)
	_, raw, err := a.Authenticate(context.Background(), alice.Email, auth.Secret(idt))
	if stamp := authn.TakeStamp(raw); err != nil || a.(authn.Confirmer).CanConfirm(stamp) {
		t.Errorf("an ID token's session can be confirmed (stamp %q, %v): nothing can be asked about it later", stamp, err)
	}
	res, labels := authenticate(t, a, alice.Email, idt)
	if res != authn.Accepted {
		t.Fatalf("a genuine ID token: %v", res)
	}
	if diff := cmp.Diff(auth.Labels{"groups": {"dev", "registry-admins"}}, labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if res, _ := authenticate(t, a, bob.Email, idt); res != authn.WrongPassword {
		t.Errorf("alice's token as bob's password: %v", res)
	}
	if res, _ := authenticate(t, newAuth("someone-else"), alice.Email, idt); res != authn.WrongPassword {
		t.Errorf("a token for another audience: %v", res)
	}
	parts := strings.Split(idt, ".")
	sig := []byte(parts[2])
	sig[10] ^= 1
	if res, _ := authenticate(t, a, alice.Email, parts[0]+"."+parts[1]+"."+string(sig)); res != authn.WrongPassword {
		t.Errorf("a token with a broken signature: %v", res)
	}
	// The sign-in passwords still work through the same authenticator.
	pw := r.signIn(t, bob)
	if res, _ := authenticate(t, a, bob.Email, pw); res != authn.Accepted {
		t.Errorf("a sign-in password next to ID tokens: %v", res)
	}
}
