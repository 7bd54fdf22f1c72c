package ui

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/accounts"
	"wharf/internal/auth"
)

// adminPosts are the administration's forms, each with a valid body.
var adminPosts = []struct {
	path string
	form url.Values
}{
	{"/ui/admin/users", url.Values{"name": {"mallory"}, "password": {"mallory's long password"}}},
	{"/ui/admin/users/dora/disable", nil},
	{"/ui/admin/users/dora/password", url.Values{"password": {"a brand new long password"}}},
	{"/ui/admin/teams", url.Values{"name": {"ops"}}},
	{"/ui/admin/rules", url.Values{"account": {"bob"}, "type": {"repository"}, "name": {"*"}, "actions": {"*"}}},
	{"/ui/admin/tokens", url.Values{"user": {"dora"}, "scopes": {"repository:*:pull"}}},
}

// TestAdministrationIsForAdministrators: an account the ACL does not
// grant admin:api:* is refused every administration page and form (403)
// and changes nothing, and is not shown the way there; root is.
func TestAdministrationIsForAdministrators(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("alice", alicePassword)
	if strings.Contains(b.get("/ui/").body, `id="nav-admin"`) {
		t.Error("a non-administrator is shown the administration link")
	}
	for _, path := range []string{"/ui/admin/", "/ui/admin/users", "/ui/admin/teams", "/ui/admin/rules", "/ui/admin/tokens", "/ui/admin/sessions", "/ui/admin/audit", "/ui/admin/usage"} {
		if p := b.get(path); p.status != http.StatusForbidden {
			t.Errorf("GET %s as alice: %d, want 403", path, p.status)
		}
	}
	for _, f := range adminPosts {
		form := url.Values{"csrf": {csrf}}
		for k, v := range f.form {
			form[k] = v
		}
		if p := b.post(f.path, form); p.status != http.StatusForbidden {
			t.Errorf("POST %s as alice: %d, want 403", f.path, p.status)
		}
	}
	e.unchanged()
	root := e.browser()
	root.signIn("root", rootPassword)
	if !strings.Contains(root.get("/ui/").body, `id="nav-admin"`) {
		t.Error("root is not shown the administration link")
	}
	if p := root.get("/ui/admin/users"); p.status != http.StatusOK || !strings.Contains(p.body, `id="user-alice"`) {
		t.Errorf("users page as root: %d\n%s", p.status, p.body)
	}
}

// unchanged fails unless none of adminPosts' changes was made.
func (e *env) unchanged() {
	e.t.Helper()
	ctx := e.t.Context()
	store := e.svc.Store()
	if _, err := store.GetUser(ctx, "mallory"); !accounts.IsNotFound(err) {
		e.t.Errorf("mallory was added (err %v)", err)
	}
	if u, err := store.GetUser(ctx, "dora"); err != nil || u.Disabled {
		e.t.Errorf("dora was disabled (err %v)", err)
	}
	if teams, _ := store.ListTeams(ctx); len(teams) != 0 {
		e.t.Errorf("teams were added: %v", teams)
	}
	if rules, _ := store.ListACLRules(ctx); len(rules) != 0 {
		e.t.Errorf("rules were added: %v", rules)
	}
	if tokens, _ := e.svc.Tokens(ctx, ""); len(tokens) != 0 {
		e.t.Errorf("tokens were created: %v", tokens)
	}
	if e.signsIn("dora", "a brand new long password") {
		e.t.Error("dora's password was changed")
	}
}

// signsIn reports whether user signs in with password.
func (e *env) signsIn(user, password string) bool {
	b := e.browser()
	login := b.get("/ui/login")
	p := b.post("/ui/login", url.Values{"csrf": {login.csrf(e.t)}, "username": {user}, "password": {password}})
	return p.status == http.StatusSeeOther
}

// TestAdministrationCSRF: every administration form without the
// session's CSRF token, or with another session's, is refused and changes
// nothing.
func TestAdministrationCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("root", rootPassword)
	other := e.browser().signIn("root", rootPassword)
	for _, f := range adminPosts {
		for _, csrf := range []string{"", other} {
			form := url.Values{"csrf": {csrf}}
			for k, v := range f.form {
				form[k] = v
			}
			if p := b.post(f.path, form); p.status != http.StatusForbidden {
				t.Errorf("POST %s with CSRF %q: %d, want 403", f.path, csrf, p.status)
			}
		}
	}
	for _, path := range []string{"/ui/me/tokens", "/ui/me/tokens/x/revoke", "/ui/admin/sessions/0123456789abcdef/revoke", "/ui/admin/rules/1/move"} {
		if p := b.post(path, url.Values{"scopes": {"repository:*:pull"}, "position": {"1"}}); p.status != http.StatusForbidden {
			t.Errorf("POST %s without CSRF: %d, want 403", path, p.status)
		}
	}
	e.unchanged()
}

// form posts to path as the signed-in browser with csrf, and fails unless
// the answer is want.
func (b *browser) form(path, csrf string, want int, kv ...string) page {
	b.t.Helper()
	f := url.Values{"csrf": {csrf}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Add(kv[i], kv[i+1])
	}
	p := b.post(path, f)
	if p.status != want {
		b.t.Fatalf("POST %s: %d, want %d\n%s", path, p.status, want, p.body)
	}
	return p
}

func mustContain(t *testing.T, p page, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.body, w) {
			t.Errorf("page lacks %q:\n%s", w, p.body)
		}
	}
}

// TestUsersAndTeams: each change of the users' and teams' pages shows on
// them and takes effect: a new user signs in, a disabled one does not, a
// new password replaces the old one, a robot has none; a team's members
// show on their personal page.
func TestUsersAndTeams(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("root", rootPassword)
	b.form("/ui/admin/users", csrf, http.StatusSeeOther, "name", "erin", "password", "erin's long password")
	b.form("/ui/admin/users", csrf, http.StatusSeeOther, "name", "ci", "robot", "on")
	mustContain(t, b.form("/ui/admin/users", csrf, http.StatusBadRequest, "name", "bot2", "robot", "on", "password", "a long password here"), "robot account has no password")
	mustContain(t, b.form("/ui/admin/users", csrf, http.StatusConflict, "name", "erin", "password", "erin's long password"), "already exists")
	users := b.get("/ui/admin/users")
	mustContain(t, users, `id="user-erin"`, `id="user-ci"`, "robot")
	if !e.signsIn("erin", "erin's long password") {
		t.Fatal("a user added on the page cannot sign in")
	}
	b.form("/ui/admin/users/erin/disable", csrf, http.StatusSeeOther)
	if e.signsIn("erin", "erin's long password") {
		t.Error("a disabled user signs in")
	}
	if !regexp.MustCompile(`(?s)id="user-erin">.*?<td class="state">disabled`).MatchString(b.get("/ui/admin/users").body) {
		t.Error("the users page does not say erin is disabled")
	}
	b.form("/ui/admin/users/erin/enable", csrf, http.StatusSeeOther)
	b.form("/ui/admin/users/erin/password", csrf, http.StatusSeeOther, "password", "erin's second password")
	if e.signsIn("erin", "erin's long password") || !e.signsIn("erin", "erin's second password") {
		t.Error("the new password did not replace the old one")
	}
	mustContain(t, b.form("/ui/admin/users/nobody/disable", csrf, http.StatusNotFound), "There is no ")
	if p := b.form("/ui/admin/teams/none/members", csrf, http.StatusNotFound, "user", "alice"); strings.Contains(p.body, "metadata:") {
		t.Errorf("a missing team is told in the database's words:\n%s", p.body)
	}

	b.form("/ui/admin/teams", csrf, http.StatusSeeOther, "name", "core")
	b.form("/ui/admin/teams/core/members", csrf, http.StatusSeeOther, "user", "alice")
	mustContain(t, b.get("/ui/admin/teams"), `id="team-core"`, "Remove from core")
	a := e.browser()
	a.signIn("alice", alicePassword)
	mustContain(t, a.get("/ui/me"), `<ul id="myteams"><li>core</li>`)
	b.form("/ui/admin/teams/core/members/alice/remove", csrf, http.StatusSeeOther)
	mustContain(t, a.get("/ui/me"), "You are in no team.")
	b.form("/ui/admin/teams/core/remove", csrf, http.StatusSeeOther)
	if strings.Contains(b.get("/ui/admin/teams").body, `id="team-core"`) {
		t.Error("a removed team is still listed")
	}
}

// TestLastAdministratorRefused: disabling the only account that
// administers is refused with the service's own explanation.
func TestLastAdministratorRefused(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("root", rootPassword)
	p := b.form("/ui/admin/users/root/disable", csrf, http.StatusConflict)
	mustContain(t, p, "would leave no account that may administer Wharf")
	if u, _ := e.svc.Store().GetUser(t.Context(), "root"); u.Disabled {
		t.Error("the last administrator was disabled")
	}
}

var decidedBy = regexp.MustCompile(`id="decided-by"><code>([^<]*)</code>`)

// TestRulesAndChecker: rules added on the page are asked in their order,
// the move buttons reorder them, and the checker names the rule that
// decides, as `wharf acl check` does.
func TestRulesAndChecker(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("root", rootPassword)
	check := func() (string, string) {
		t.Helper()
		p := b.get("/ui/admin/rules?" + url.Values{"account": {"erin"}, "scope": {"repository:lab/app:pull,push"}}.Encode())
		m := decidedBy.FindStringSubmatch(p.body)
		g := regexp.MustCompile(`id="granted">([^<]*)<`).FindStringSubmatch(p.body)
		if m == nil || g == nil {
			t.Fatalf("the checker names no deciding rule:\n%s", p.body)
		}
		return html.UnescapeString(m[1]), g[1]
	}
	if p := b.get("/ui/admin/rules?account=erin&scope=repository:lab/app:pull"); !strings.Contains(p.body, "no rule matches: denied") {
		t.Errorf("with no rule for erin the checker does not say so:\n%s", p.body)
	}
	b.form("/ui/admin/rules", csrf, http.StatusSeeOther, "account", "erin", "type", "repository", "name", "lab/*", "actions", "pull", "comment", "readers")
	b.form("/ui/admin/rules", csrf, http.StatusSeeOther, "account", "erin", "type", "repository", "name", "lab/*", "actions", "pull,push", "comment", "writers")
	rules, err := e.svc.Store().ListACLRules(t.Context())
	if err != nil || len(rules) != 2 {
		t.Fatalf("rules: %v %v", rules, err)
	}
	by, granted := check()
	if !strings.Contains(by, "database rule 1 (position 1)") || !strings.Contains(by, `"readers"`) || granted != "pull" {
		t.Errorf("first rule should decide: %q granted %q", by, granted)
	}
	mustContain(t, b.get("/ui/admin/rules"), `aria-label="Move rule 2 up"`, `aria-label="Move rule 1 down"`)
	b.form("/ui/admin/rules/2/move", csrf, http.StatusSeeOther, "position", "1")
	by, granted = check()
	if !strings.Contains(by, "database rule 2 (position 1)") || granted != "pull, push" {
		t.Errorf("after moving rule 2 up it should decide: %q granted %q", by, granted)
	}
	b.form("/ui/admin/rules/2/remove", csrf, http.StatusSeeOther)
	if by, _ := check(); !strings.Contains(by, "database rule 1") {
		t.Errorf("after removing rule 2, rule 1 should decide: %q", by)
	}
	b.form("/ui/admin/rules", csrf, http.StatusBadRequest, "account", "erin", "actions", "pull,fly")
	if p := b.get("/ui/admin/rules?account=erin&scope=nonsense"); !strings.Contains(p.body, "Write the scope as docker asks for it") {
		t.Errorf("a malformed scope is not explained:\n%s", p.body)
	}
}

var createdToken = regexp.MustCompile(`id="created-token" readonly aria-label="Access token" value="([^"]+)"`)

// TestAccessTokens: a token created on the page is shown once, signs in
// as its account, is listed without its secret, and revoked signs in no
// more; an account's own page manages its own tokens and no one else's.
func TestAccessTokens(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("root", rootPassword)
	b.form("/ui/admin/users", csrf, http.StatusSeeOther, "name", "ci", "robot", "on")
	p := b.form("/ui/admin/tokens", csrf, http.StatusCreated, "user", "ci", "scopes", "repository:team/*:pull", "description", "nightly")
	m := createdToken.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("the created token is not shown:\n%s", p.body)
	}
	secret := m[1]
	list := b.get("/ui/admin/tokens")
	mustContain(t, list, "nightly", "repository:team/*:pull")
	if strings.Contains(list.body, secret) {
		t.Error("the token list shows the token")
	}
	if !e.signsIn("ci", secret) {
		t.Fatal("the new token does not sign in")
	}
	id, ok := accounts.TokenID(auth.Secret(secret))
	if !ok {
		t.Fatal("the shown token has no id")
	}
	b.form("/ui/admin/tokens/"+id+"/revoke", csrf, http.StatusSeeOther)
	if e.signsIn("ci", secret) {
		t.Error("a revoked token signs in")
	}
	if strings.Contains(b.get("/ui/admin/tokens").body, "nightly") {
		t.Error("a revoked token is still listed as active")
	}

	// alice's own tokens.
	a := e.browser()
	acsrf := a.signIn("alice", alicePassword)
	p = a.form("/ui/me/tokens", acsrf, http.StatusCreated, "scopes", "repository:team/*:pull", "description", "laptop")
	mine, _ := accounts.TokenID(auth.Secret(createdToken.FindStringSubmatch(p.body)[1]))
	mustContain(t, a.get("/ui/me"), `id="token-`+mine+`"`, "laptop", "docker login ")
	_, dora, err := e.svc.CreateToken(t.Context(), accounts.NewToken{User: "dora", Scopes: []string{"repository:*:pull"}})
	if err != nil {
		t.Fatal(err)
	}
	a.form("/ui/me/tokens/"+dora.ID+"/revoke", acsrf, http.StatusNotFound)
	if still, _ := e.svc.Tokens(t.Context(), "dora"); len(still) != 1 || !still[0].RevokedAt.IsZero() {
		t.Error("alice revoked dora's token")
	}
	if strings.Contains(a.get("/ui/me").body, dora.ID) {
		t.Error("alice's page lists dora's token")
	}
	a.form("/ui/me/tokens/"+mine+"/revoke", acsrf, http.StatusSeeOther)
	if strings.Contains(a.get("/ui/me").body, `id="token-`+mine+`"`) {
		t.Error("a revoked token is still on its owner's page")
	}
}

// TestSessionsPage: an administrator sees every live session and ends
// one; its browser is sent back to the sign-in page.
func TestSessionsPage(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("root", rootPassword)
	a := e.browser()
	a.signIn("alice", alicePassword)
	p := b.get("/ui/admin/sessions")
	m := regexp.MustCompile(`id="session-([0-9a-f]+)"><td><code>[0-9a-f]+</code></td><td>alice</td>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("alice's session is not listed:\n%s", p.body)
	}
	b.form("/ui/admin/sessions/"+m[1]+"/revoke", csrf, http.StatusSeeOther)
	if p := a.get("/ui/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/ui/login") {
		t.Errorf("a revoked session still works: %d %s", p.status, p.header.Get("Location"))
	}
	if strings.Contains(b.get("/ui/admin/sessions").body, "<td>alice</td>") {
		t.Error("a revoked session is still listed")
	}
}

// TestPersonalPageCA: with tls: auto the personal page offers the local
// CA's certificate and says where each client wants it; without, neither
// the link nor the file is there.
func TestPersonalPageCA(t *testing.T) {
	const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	path := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(path, []byte(pem), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) { c.CACertPath = path })
	b := e.browser()
	b.signIn("alice", alicePassword)
	host := strings.TrimPrefix(e.srv.URL, "http://")
	mustContain(t, b.get("/ui/me"), `href="/ui/ca.crt"`, "/etc/docker/certs.d/"+host+"/ca.crt", "/etc/containers/certs.d/"+host+"/ca.crt",
		"docker login "+host+" -u alice", "podman login "+host+" -u alice", "helm registry login "+host+" -u alice --ca-file ca.crt")
	if p := b.get("/ui/ca.crt"); p.status != http.StatusOK || p.body != pem || !strings.Contains(p.header.Get("Content-Disposition"), "ca.crt") {
		t.Errorf("GET /ui/ca.crt: %d %q %v", p.status, p.body, p.header)
	}
	if p := e.browser().get("/ui/ca.crt"); p.status != http.StatusSeeOther {
		t.Errorf("GET /ui/ca.crt signed out: %d, want the sign-in page", p.status)
	}

	plain := newEnv(t)
	pb := plain.browser()
	pb.signIn("alice", alicePassword)
	if p := pb.get("/ui/me"); strings.Contains(p.body, "ca.crt") {
		t.Errorf("without tls: auto the personal page offers a CA:\n%s", p.body)
	}
	if p := pb.get("/ui/ca.crt"); p.status != http.StatusNotFound {
		t.Errorf("GET /ui/ca.crt without tls: auto: %d, want 404", p.status)
	}
}

// TestPersonalPageOtherBackend: an account of another backend (as LDAP's)
// has a personal page with its login commands, and neither teams nor
// tokens: it cannot create one.
func TestPersonalPageOtherBackend(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("carol", carolPassword)
	p := b.get("/ui/me")
	mustContain(t, p, "Your account comes from directory", "docker login ")
	if strings.Contains(p.body, `action="/ui/me/tokens"`) {
		t.Error("an account of another backend is offered access tokens")
	}
	b.form("/ui/me/tokens", csrf, http.StatusNotFound, "scopes", "repository:*:pull")
	if tokens, _ := e.svc.Tokens(t.Context(), ""); len(tokens) != 0 {
		t.Errorf("tokens were created: %v", tokens)
	}
}

// TestChangesNameTheirActor: a change made on the administration pages
// reaches the audit log's hook as the signed-in account's, through the
// web interface, from its address.
func TestChangesNameTheirActor(t *testing.T) {
	var mu sync.Mutex
	var actors []accounts.Actor
	var changes []accounts.Change
	e := newEnv(t, func(c *Config) {
		c.Accounts = accounts.NewService(c.Meta, accounts.Options{Cost: bcrypt.MinCost, TokenService: service, Layers: c.Layers,
			Changed: func(ctx context.Context, ch accounts.Change) {
				a, _ := accounts.ActorFrom(ctx)
				mu.Lock()
				defer mu.Unlock()
				actors, changes = append(actors, a), append(changes, ch)
			}})
	})
	b := e.browser()
	csrf := b.signIn("root", rootPassword)
	b.form("/ui/admin/teams", csrf, http.StatusSeeOther, "name", "ops")
	b.form("/ui/admin/users/root/disable", csrf, http.StatusConflict)
	mu.Lock()
	defer mu.Unlock()
	want := accounts.Actor{Name: "root", Source: "ui", Addr: "127.0.0.1"}
	if len(changes) != 2 || changes[0].Action != "team.create" || changes[0].Err != nil || changes[1].Action != "user.disable" || changes[1].Err == nil {
		t.Fatalf("changes: %+v", changes)
	}
	for _, a := range actors {
		if a != want {
			t.Errorf("actor %+v; want %+v", a, want)
		}
	}
}

// TestDoneMessages: a change leads to its page with a sentence saying what
// it did, focused when the page loads (autofocus: no script), and only the
// fixed sentences: ?done= with anything else shows nothing. The checker's
// answer and the new token take the focus too.
func TestDoneMessages(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("root", rootPassword)
	for _, tc := range []struct {
		path, to string
		kv       []string
	}{
		{"/ui/admin/users", "/ui/admin/users?done=user-added", []string{"name", "kim", "robot", "on"}},
		{"/ui/admin/users/kim/disable", "/ui/admin/users?done=user-disabled", nil},
		{"/ui/admin/teams", "/ui/admin/teams?done=team-added", []string{"name", "crew"}},
		{"/ui/admin/rules", "/ui/admin/rules?done=rule-added", []string{"account", "kim", "name", "kim/*", "actions", "pull"}},
	} {
		p := b.form(tc.path, csrf, http.StatusSeeOther, tc.kv...)
		if loc := p.header.Get("Location"); loc != tc.to {
			t.Errorf("POST %s leads to %q, want %q", tc.path, loc, tc.to)
			continue
		}
		mustContain(t, b.get(tc.to), `<p id="done" class="done" role="status" tabindex="-1" autofocus>`+doneMessages[tc.to[strings.Index(tc.to, "=")+1:]]+`</p>`)
	}
	for _, q := range []string{"", "?done=", "?done=%3Cb%3Eyou+were+hacked", "?done=user-added+"} {
		if p := b.get("/ui/admin/users" + q); strings.Contains(p.body, `id="done"`) || strings.Contains(p.body, "hacked") {
			t.Errorf("/ui/admin/users%s says something was done:\n%s", q, p.body)
		}
	}
	mustContain(t, b.get("/ui/admin/rules?account=kim&scope=repository:kim/app:pull"), `<dl class="facts" id="explanation" tabindex="-1" autofocus`)
	mustContain(t, b.form("/ui/admin/tokens", csrf, http.StatusCreated, "user", "alice", "scopes", "repository:team/*:pull"), `autofocus id="created-token"`)
}

// TestRemoveUser: a user is removed after a confirmation page, with its
// tokens; removing the last account that administers is refused (409)
// with the service's explanation, a form without the CSRF token removes
// nothing, and a user that does not exist is 404.
func TestRemoveUser(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	b := e.browser()
	csrf := b.signIn("root", rootPassword)
	b.form("/ui/admin/users", csrf, http.StatusSeeOther, "name", "kim", "robot", "on")
	if _, _, err := e.svc.CreateToken(ctx, accounts.NewToken{User: "kim", Scopes: []string{"repository:team/*:pull"}}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, b.get("/ui/admin/users"), `<a class="remove danger" href="/ui/admin/users/kim/remove" aria-label="Remove kim">Remove</a>`)
	mustContain(t, b.get("/ui/admin/users/kim/remove"), "<h1>Remove robot kim?</h1>", `<form method="post" action="/ui/admin/users/kim/remove">`,
		`<button id="confirm-remove" type="submit" class="danger" autofocus>Remove kim</button>`)
	b.form("/ui/admin/users/kim/remove", "", http.StatusForbidden)
	if _, err := e.svc.Store().GetUser(ctx, "kim"); err != nil {
		t.Fatalf("a removal without the CSRF token removed kim: %v", err)
	}
	if p := b.form("/ui/admin/users/kim/remove", csrf, http.StatusSeeOther); p.header.Get("Location") != "/ui/admin/users?done=user-removed" {
		t.Errorf("the removal leads to %q", p.header.Get("Location"))
	}
	if _, err := e.svc.Store().GetUser(ctx, "kim"); !accounts.IsNotFound(err) {
		t.Errorf("kim after the removal: %v; want not found", err)
	}
	if tokens, err := e.svc.Tokens(ctx, "kim"); err != nil || len(tokens) != 0 {
		t.Errorf("kim's tokens after the removal: %v, %v", tokens, err)
	}
	if p := b.get("/ui/admin/users/kim/remove"); p.status != http.StatusNotFound {
		t.Errorf("the removal page of a removed user: %d, want 404", p.status)
	}
	p := b.form("/ui/admin/users/root/remove", csrf, http.StatusConflict)
	mustContain(t, p, "would leave no account that may administer Wharf")
	if _, err := e.svc.Store().GetUser(ctx, "root"); err != nil {
		t.Errorf("the last administrator was removed: %v", err)
	}
}
