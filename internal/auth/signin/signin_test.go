package signin_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/authntest"
	"wharf/internal/auth/signin"
	"wharf/internal/testserver"
)

func openStore(t *testing.T) *signin.SQLiteStore {
	t.Helper()
	s, err := signin.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "sign-ins.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// idle is a provider never asked: the records are fresh.
type idle struct{}

func (idle) Name() string  { return "idle" }
func (idle) Title() string { return "Idle" }
func (idle) AuthCodeURL(context.Context, signin.Attempt) (string, error) {
	return "", errors.New("not used")
}
func (idle) Exchange(context.Context, signin.Attempt, string) (signin.SignIn, error) {
	return signin.SignIn{}, errors.New("not used")
}
func (idle) Revalidate(context.Context, string, signin.Token) (signin.SignIn, error) {
	return signin.SignIn{}, errors.New("not used")
}

// TestConformance runs the authenticator suite over the password store:
// the passwords of users who signed in.
func TestConformance(t *testing.T) {
	authntest.Run(t, authntest.Contract{UnknownUser: authn.NoMatch, Labels: true, Confirms: true}, func(t *testing.T, f authntest.Fixture) authn.Authenticator {
		s := openStore(t)
		now := time.Now()
		for _, u := range f.Users {
			err := s.Put(context.Background(), signin.Record{Backend: "idle", Account: u.Name, PasswordHash: sha256.Sum256([]byte(u.Password)),
				Labels: u.Labels, Token: signin.Token{AccessToken: "a"}, Created: now, RevalidateAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
		}
		a, err := signin.NewAuthenticator(signin.AuthenticatorConfig{Provider: idle{}, Store: s, RevalidateAfter: time.Hour, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return a
	})
}

func TestNewPasswordAndAccountNames(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		pw, hash, err := signin.NewPassword("oidc")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(pw.Reveal(), "wharf_oidc_") || len(pw.Reveal()) != len("wharf_oidc_")+43 || hash != sha256.Sum256([]byte(pw.Reveal())) || seen[pw.Reveal()] {
			t.Fatalf("bad password %d bytes", len(pw.Reveal()))
		}
		seen[pw.Reveal()] = true
	}
	for _, bad := range []string{"", "a:b", "a b", "a\nb", "a\x00", strings.Repeat("x", 257), "\xff"} {
		if signin.CheckAccount(bad) == nil {
			t.Errorf("account %q accepted", bad)
		}
	}
	for _, good := range []string{"octocat", "alice@example.com", "zoë"} {
		if err := signin.CheckAccount(good); err != nil {
			t.Errorf("account %q: %v", good, err)
		}
	}
}

// clock is a settable time for the sign-in and the authenticator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type forgeRig struct {
	forge *testserver.Forge
	srv   *httptest.Server
	authn *signin.Authenticator
	clock *clock
	name  string

	mu  sync.Mutex
	uis []signin.UISignIn // the web interface sessions opened
}

// uiSession stands for the web interface: it notes the sign-in and
// answers a page naming it.
func (r *forgeRig) uiSession(w http.ResponseWriter, _ *http.Request, s signin.UISignIn) {
	r.mu.Lock()
	r.uis = append(r.uis, s)
	r.mu.Unlock()
	_, _ = io.WriteString(w, "web session of "+s.Account)
}

func newForgeRig(t *testing.T, name string, p func(f *testserver.Forge) signin.Provider, users ...*testserver.ForgeUser) *forgeRig {
	t.Helper()
	f := testserver.StartForge(t, users...)
	s := openStore(t)
	c := &clock{t: time.Now()}
	prov := p(f)
	r := &forgeRig{forge: f, clock: c, name: name}
	l, err := signin.NewLogin(signin.LoginConfig{Provider: prov, Store: s, CallbackPath: "/auth/" + name + "/callback", UISession: r.uiSession,
		StartPath: "/auth/" + name + "/login", OmitRedirect: name == "github", UIPath: "/ui/login",
		Public:          func(r *http.Request) (string, string) { return "http", r.Host },
		RevalidateAfter: time.Hour, PasswordLifetime: 24 * time.Hour, Timeout: 10 * time.Second, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	a, err := signin.NewAuthenticator(signin.AuthenticatorConfig{Provider: prov, Store: s, RevalidateAfter: time.Hour,
		Timeout: 10 * time.Second, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/auth/"+name+"/login", l.Start)
	mux.HandleFunc("/auth/"+name+"/callback", l.Callback)
	mux.HandleFunc("/"+name+"_auth", l.Handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.SetCallback(srv.URL + "/" + name + "_auth") // as registered with the GitHub app, docker_auth's path
	r.srv, r.authn = srv, a
	return r
}

var passwordRE = regexp.MustCompile(`<pre id="password">(wharf_[a-z]+_[A-Za-z0-9_-]{43})</pre>`)

func (r *forgeRig) signIn(t *testing.T, login string) (int, string) {
	t.Helper()
	return r.signInAt(t, login, "")
}

// signInAt signs login in from the start page with query.
func (r *forgeRig) signInAt(t *testing.T, login, query string) (int, string) {
	t.Helper()
	r.forge.SignInAs(login)
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := b.Get(r.srv.URL + "/auth/" + r.name + "/login" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (r *forgeRig) password(t *testing.T, login string) string {
	t.Helper()
	status, body := r.signIn(t, login)
	m := passwordRE.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil {
		t.Fatalf("sign-in of %s: %d\n%s", login, status, body)
	}
	// The page links to the web interface, where the password signs in too.
	if !strings.Contains(body, `<a id="ui" href="/ui/login">`) {
		t.Errorf("the result page does not link to the web interface:\n%s", body)
	}
	return m[1]
}

func check(t *testing.T, a authn.Authenticator, user, pw string, want authn.Result) auth.Labels {
	t.Helper()
	res, labels, err := a.Authenticate(context.Background(), user, auth.Secret(pw))
	if err != nil || res != want {
		t.Fatalf("Authenticate(%s): %v, %v; want %v", user, res, err, want)
	}
	authn.TakeStamp(labels)
	return labels
}

func TestGitHub(t *testing.T) {
	octo := &testserver.ForgeUser{Login: "octocat", Orgs: []string{"acme", "other"}, Teams: map[string][]string{"acme": {"platform", "web"}, "other": {"x"}}}
	outsider := &testserver.ForgeUser{Login: "mallory", Orgs: []string{"other"}}
	r := newForgeRig(t, "github", func(f *testserver.Forge) signin.Provider {
		p, err := signin.NewGitHub(signin.GitHubConfig{ClientID: f.ClientID, ClientSecret: auth.Secret(f.ClientSecret), Organization: "acme",
			GroupsFrom: []string{"ACME"}, WebURI: f.URL, APIURI: f.URL + "/api", HTTPClient: &http.Client{Timeout: 10 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}, octo, outsider)

	pw := r.password(t, "octocat")
	labels := check(t, r.authn, "octocat", pw, authn.Accepted)
	// Only the organizations of groups_from become groups: anyone can
	// create "other" and name it after a namespace of the registry.
	want := auth.Labels{"teams": {"platform", "web"}, "groups": {"acme", "acme/platform", "acme/web"}}
	if diff := cmp.Diff(want, labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	check(t, r.authn, "octocat", "wharf_github_nope", authn.WrongPassword)
	check(t, r.authn, "octocat", "wharf_gitlab_"+pw[len("wharf_github_"):], authn.NoMatch) // another backend's
	check(t, r.authn, "nobody", pw, authn.NoMatch)

	if status, body := r.signIn(t, "mallory"); status != http.StatusForbidden || !strings.Contains(body, "not a member of the GitHub organization acme") || passwordRE.MatchString(body) {
		t.Errorf("a user outside the organization: %d\n%s", status, body)
	}

	// Re-validation: a team change shows, a revoked token revokes.
	r.forge.Update(func() { octo.Teams["acme"] = []string{"platform"} })
	r.clock.Add(time.Hour + time.Minute)
	labels = check(t, r.authn, "octocat", pw, authn.Accepted)
	if diff := cmp.Diff([]string{"platform"}, labels["teams"]); diff != "" {
		t.Errorf("teams after re-validation (-want +got):\n%s", diff)
	}
	r.forge.Revoke("octocat")
	r.clock.Add(time.Hour + time.Minute)
	check(t, r.authn, "octocat", pw, authn.WrongPassword)
	check(t, r.authn, "octocat", pw, authn.NoMatch) // the record is gone
}

// Without groups_from (and no organization), a user's organizations give
// no groups at all: mallory's own "infra" cannot claim infra/*.
func TestGitHubOrganizationsGiveNoGroupsUnlessClaimed(t *testing.T) {
	mallory := &testserver.ForgeUser{Login: "mallory", Orgs: []string{"infra"}, Teams: map[string][]string{"infra": {"admins"}}}
	r := newForgeRig(t, "github", func(f *testserver.Forge) signin.Provider {
		p, err := signin.NewGitHub(signin.GitHubConfig{ClientID: f.ClientID, ClientSecret: auth.Secret(f.ClientSecret),
			WebURI: f.URL, APIURI: f.URL + "/api", HTTPClient: &http.Client{Timeout: 10 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}, mallory)
	if labels := check(t, r.authn, "mallory", r.password(t, "mallory"), authn.Accepted); len(labels["groups"]) != 0 {
		t.Errorf("groups from unclaimed organizations: %v", labels["groups"])
	}
}

func TestGitHubMembershipEndsAtRevalidation(t *testing.T) {
	octo := &testserver.ForgeUser{Login: "octocat", Orgs: []string{"acme"}}
	r := newForgeRig(t, "github", func(f *testserver.Forge) signin.Provider {
		p, _ := signin.NewGitHub(signin.GitHubConfig{ClientID: f.ClientID, ClientSecret: auth.Secret(f.ClientSecret), Organization: "acme",
			WebURI: f.URL, APIURI: f.URL + "/api", HTTPClient: &http.Client{Timeout: 10 * time.Second}})
		return p
	}, octo)
	pw := r.password(t, "octocat")
	r.forge.Update(func() { octo.Orgs = nil })
	r.clock.Add(2 * time.Hour)
	check(t, r.authn, "octocat", pw, authn.WrongPassword)
}

func TestGitLab(t *testing.T) {
	ann := &testserver.ForgeUser{Login: "ann", Groups: []string{"acme", "acme/platform", "hobby"}, State: "active"}
	out := &testserver.ForgeUser{Login: "otto", Groups: []string{"hobby"}, State: "active"}
	r := newForgeRig(t, "gitlab", func(f *testserver.Forge) signin.Provider {
		f.SetExpiresIn(1) // GitLab's tokens expire: re-validation refreshes first
		p, err := signin.NewGitLab(signin.GitLabConfig{ClientID: f.ClientID, ClientSecret: auth.Secret(f.ClientSecret), Organization: "acme",
			GroupsFrom: []string{"acme"}, WebURI: f.URL, APIURI: f.URL + "/api/v4", HTTPClient: &http.Client{Timeout: 10 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}, ann, out)
	pw := r.password(t, "ann")
	labels := check(t, r.authn, "ann", pw, authn.Accepted)
	if diff := cmp.Diff(auth.Labels{"groups": {"acme", "acme/platform"}}, labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if status, body := r.signIn(t, "otto"); status != http.StatusForbidden || !strings.Contains(body, "not a member of the GitLab group acme") {
		t.Errorf("a user outside the group: %d\n%s", status, body)
	}
	// Re-validation refreshes the expired token, then asks the API.
	r.clock.Add(2 * time.Hour)
	check(t, r.authn, "ann", pw, authn.Accepted)
	r.forge.Update(func() { ann.State = "blocked" })
	r.clock.Add(2 * time.Hour)
	check(t, r.authn, "ann", pw, authn.WrongPassword)
}

func TestGitLabRefreshRefused(t *testing.T) {
	ann := &testserver.ForgeUser{Login: "ann", Groups: []string{"acme"}, State: "active"}
	r := newForgeRig(t, "gitlab", func(f *testserver.Forge) signin.Provider {
		f.SetExpiresIn(1)
		p, _ := signin.NewGitLab(signin.GitLabConfig{ClientID: f.ClientID, ClientSecret: auth.Secret(f.ClientSecret),
			WebURI: f.URL, APIURI: f.URL + "/api/v4", HTTPClient: &http.Client{Timeout: 10 * time.Second}})
		return p
	}, ann)
	pw := r.password(t, "ann")
	r.forge.Revoke("ann")
	r.clock.Add(2 * time.Hour)
	check(t, r.authn, "ann", pw, authn.WrongPassword)
}

// TestProviderDownIsAnError: a provider that cannot be reached at
// re-validation fails the login with an error (the chain denies and logs),
// and keeps the sign-in for when it is back.
func TestProviderDownIsAnError(t *testing.T) {
	octo := &testserver.ForgeUser{Login: "octocat"}
	r := newForgeRig(t, "github", func(f *testserver.Forge) signin.Provider {
		p, _ := signin.NewGitHub(signin.GitHubConfig{ClientID: f.ClientID, ClientSecret: auth.Secret(f.ClientSecret),
			WebURI: f.URL, APIURI: f.URL + "/api", HTTPClient: &http.Client{Timeout: 10 * time.Second}})
		return p
	}, octo)
	pw := r.password(t, "octocat")
	r.forge.Close()
	r.clock.Add(2 * time.Hour)
	res, _, err := r.authn.Authenticate(context.Background(), "octocat", auth.Secret(pw))
	if err == nil || res == authn.Accepted {
		t.Fatalf("provider down: %v, %v; want an error", res, err)
	}
	if strings.Contains(err.Error(), pw) {
		t.Error("the error holds the password")
	}
}

// TestUISignIn: a sign-in started from the web interface (?ui=1) opens a
// session there, good until the provider is to be asked again, and issues
// no registry password: the one docker login holds keeps working. The
// provider's refusal still refuses.
func TestUISignIn(t *testing.T) {
	octo := &testserver.ForgeUser{Login: "octocat", Orgs: []string{"acme"}}
	outsider := &testserver.ForgeUser{Login: "mallory", Orgs: []string{"other"}}
	r := newForgeRig(t, "github", func(f *testserver.Forge) signin.Provider {
		p, err := signin.NewGitHub(signin.GitHubConfig{ClientID: f.ClientID, ClientSecret: auth.Secret(f.ClientSecret), Organization: "acme",
			WebURI: f.URL, APIURI: f.URL + "/api", HTTPClient: &http.Client{Timeout: 10 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}, octo, outsider)
	pw := r.password(t, "octocat")

	status, body := r.signInAt(t, "octocat", "?ui=1&next=%2Fui%2Fr%2Fteam%2Fapp")
	if status != http.StatusOK || body != "web session of octocat" || passwordRE.MatchString(body) {
		t.Fatalf("sign-in for the web interface: %d\n%s", status, body)
	}
	r.mu.Lock()
	got := slices.Clone(r.uis)
	r.mu.Unlock()
	if len(got) != 1 || got[0].Provider != "github" || got[0].Account != "octocat" || got[0].Next != "/ui/r/team/app" ||
		!got[0].Until.Equal(r.clock.Now().Add(time.Hour)) {
		t.Fatalf("web sessions opened: %+v; want octocat's, until revalidate_after, back to /ui/r/team/app", got)
	}
	check(t, r.authn, "octocat", pw, authn.Accepted) // the docker password was not replaced

	if status, body := r.signInAt(t, "mallory", "?ui=1"); status != http.StatusForbidden || strings.Contains(body, "web session") {
		t.Errorf("a user the registry does not admit: %d\n%s", status, body)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.uis) != 1 {
		t.Errorf("%d web sessions opened; a refused sign-in opened one", len(r.uis))
	}
}
