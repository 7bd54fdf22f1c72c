package ui

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/edge"
	"wharf/internal/events"
)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	for _, path := range []string{"/ui/login", "/ui/", "/ui/static/ui.css", "/ui/nowhere"} {
		p := b.get(path)
		for k, want := range map[string]string{"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
			"Referrer-Policy": "same-origin", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
			if got := p.header.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
	}
	if p := b.get("/ui/static/ui.css"); p.status != http.StatusOK || !strings.HasPrefix(p.header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %s", p.status, p.header.Get("Content-Type"))
	}
	// No page carries a script or an inline style, which the policy would
	// refuse anyway.
	if p := b.get("/ui/login"); strings.Contains(p.body, "<script") || strings.Contains(p.body, "style=") || strings.Contains(p.body, "<style") {
		t.Errorf("the sign-in page has a script or an inline style:\n%s", p.body)
	}
}

func TestCookieFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		proto  string
		secure bool
	}{{"plain HTTP", "", false}, {"TLS", "https", true}} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			login := b.get("/ui/login")
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/ui/login", strings.NewReader(url.Values{
				"csrf": {login.csrf(t)}, "username": {"alice"}, "password": {alicePassword}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, c := range b.c.Jar.Cookies(req.URL) {
				req.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			h := e.srv.Config.Handler
			if tc.proto == "https" {
				// What edge.Forwarded stores behind a trusted proxy that
				// terminates TLS.
				req = req.WithContext(edge.WithPublic(req.Context(), edge.Public{Scheme: "https"}))
			}
			h.ServeHTTP(rec, req)
			var session *http.Cookie
			for _, c := range rec.Result().Cookies() {
				if c.Name == sessionCookie {
					session = c
				}
			}
			if session == nil {
				t.Fatalf("no session cookie: %d %v", rec.Code, rec.Result().Header)
			}
			if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure != tc.secure || session.Path != Prefix {
				t.Errorf("session cookie %+v; want HttpOnly, SameSite=Lax, Secure=%v, Path=%s", session, tc.secure, Prefix)
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	// The sign-in form needs its token too (no login CSRF).
	b.get("/ui/login")
	if p := b.post("/ui/login", url.Values{"username": {"alice"}, "password": {alicePassword}}); p.status != http.StatusForbidden {
		t.Errorf("sign-in without a CSRF token: %d; want 403", p.status)
	}
	csrf := b.signIn("alice", alicePassword)
	e.push("team/app", "v1")
	for _, tc := range []struct{ name, token string }{{"missing", ""}, {"wrong", csrf[:len(csrf)-2] + "xx"}, {"another session's", e.browser().signIn("alice", alicePassword)}} {
		for _, path := range []string{"/ui/logout", "/ui/delete/team/app"} {
			if p := b.post(path, url.Values{"csrf": {tc.token}, "ref": {"v1"}}); p.status != http.StatusForbidden {
				t.Errorf("%s with a %s CSRF token: %d; want 403", path, tc.name, p.status)
			}
		}
	}
	if _, err := e.meta.RepositoryTags(t.Context(), "team/app"); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/ui/repos/team/app"); !strings.Contains(p.body, ">v1</a>") {
		t.Errorf("a refused delete deleted the tag:\n%s", p.body)
	}
	if got := e.events.all(); len(got) != 0 {
		t.Errorf("refused deletes recorded events: %+v", got)
	}
	// With the session's token the same forms work, and the delete is
	// recorded as the registry API records one.
	if p := b.post("/ui/delete/team/app", url.Values{"csrf": {csrf}, "ref": {"v1"}}); p.status != http.StatusSeeOther {
		t.Errorf("delete with the session's token: %d\n%s", p.status, p.body)
	}
	if got := e.events.all(); len(got) != 1 || got[0].Action != events.Delete || got[0].Repository != "team/app" || got[0].Tag != "v1" ||
		got[0].Actor != "alice" || !got[0].Addr.IsValid() {
		t.Errorf("events of the delete: %+v; want one delete of team/app:v1 by alice from her address", got)
	}
	if p := b.post("/ui/logout", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Errorf("sign-out with the session's token: %d", p.status)
	}
	if p := b.get("/ui/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/ui/login") {
		t.Errorf("after sign-out: %d %s; want the sign-in page", p.status, p.header.Get("Location"))
	}
}

func TestSeesOnlyWhatItMayPull(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.push("team/app", "v1")
	e.push("team/db", "v1")
	e.push("other/tool", "v1")
	e.push("<b>x</b>", "v1")
	alice, bob := e.browser(), e.browser()
	alice.signIn("alice", alicePassword)
	bob.signIn("bob", bobPassword)
	a, bb := alice.get("/ui/"), bob.get("/ui/")
	for _, c := range []struct {
		p         page
		see, hide []string
	}{
		{a, []string{"team/app", "team/db"}, []string{"other/tool", "<b>x</b>", "&lt;b&gt;"}},
		{bb, []string{"other/tool"}, []string{"team/app", "team/db", "&lt;b&gt;"}},
	} {
		for _, s := range c.see {
			if !strings.Contains(c.p.body, ">"+s+"</a>") {
				t.Errorf("%s is not listed:\n%s", s, c.p.body)
			}
		}
		for _, s := range c.hide {
			if strings.Contains(c.p.body, s) {
				t.Errorf("%s is listed to someone who may not pull it:\n%s", s, c.p.body)
			}
		}
	}
	// By URL: the same 404 as a repository that does not exist.
	for _, path := range []string{"/ui/repos/team/app", "/ui/manifests/team/app?ref=v1", "/ui/delete/team/app?ref=v1", "/ui/repos/nothing/here"} {
		if p := bob.get(path); p.status != http.StatusNotFound {
			t.Errorf("bob GET %s: %d; want 404", path, p.status)
		}
	}
	if p := bob.post("/ui/delete/other/tool", url.Values{"csrf": {bb.csrf(t)}, "ref": {"v1"}}); p.status != http.StatusForbidden {
		t.Errorf("bob deletes where he may only pull: %d; want 403", p.status)
	}
	// Alice sees an image's layers and config, escaped.
	p := alice.get("/ui/manifests/team/app?ref=v1")
	for _, want := range []string{`id="layers"`, "application/vnd.oci.image.layer.v1.tar", "PATH=/bin", "/bin/sh", "&lt;b&gt;core&lt;/b&gt;", "linux/amd64"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("manifest page lacks %q:\n%s", want, p.body)
		}
	}
	if strings.Contains(p.body, "<b>core</b>") {
		t.Error("a label's HTML is rendered unescaped")
	}
	r := alice.get("/ui/repos/team/app")
	if !strings.Contains(r.body, "docker pull "+strings.TrimPrefix(e.srv.URL, "http://")+"/team/app:v1") {
		t.Errorf("repository page lacks the pull command:\n%s", r.body)
	}
	m, err := e.reg.GetManifest(t.Context(), "team/app", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if size := humanBytes(parseManifest(m).CompressedSize()); !strings.Contains(r.body, "<td>"+size+"</td>") {
		t.Errorf("repository page lacks the tag's compressed size %s:\n%s", size, r.body)
	}
	// A signature refers to the image: its page lists it by artifact type.
	empty := e.putBlob("team/app", []byte("{}"))
	empty.MediaType = ocispec.MediaTypeEmptyJSON
	sig, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: "application/vnd.dev.cosign.artifact.sig.v1+json", Config: empty, Layers: []ocispec.Descriptor{empty},
		Subject: &ocispec.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: m.Size}})
	if _, err := e.reg.PutManifest(t.Context(), "team/app", digest.FromBytes(sig).String(), ocispec.MediaTypeImageManifest, sig, nil); err != nil {
		t.Fatal(err)
	}
	if p := alice.get("/ui/manifests/team/app?ref=v1"); !strings.Contains(p.body, "<h3>application/vnd.dev.cosign.artifact.sig.v1&#43;json</h3>") ||
		!strings.Contains(p.body, digest.FromBytes(sig).Encoded()[:12]) {
		t.Errorf("the image's page does not list its signature:\n%s", p.body)
	}
	// An index shows its platforms, on the tags' page and its own.
	idx, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{{MediaType: m.MediaType, Digest: m.Digest, Size: m.Size, Platform: &ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}}})
	if _, err := e.reg.PutManifest(t.Context(), "team/app", "multi", ocispec.MediaTypeImageIndex, idx, nil); err != nil {
		t.Fatal(err)
	}
	if r := alice.get("/ui/repos/team/app"); !strings.Contains(r.body, "<td>linux/arm64/v8</td>") {
		t.Errorf("the tags' page lacks the index's platform:\n%s", r.body)
	}
	if p := alice.get("/ui/manifests/team/app?ref=multi"); !strings.Contains(p.body, `id="platforms"`) || !strings.Contains(p.body, "linux/arm64/v8") {
		t.Errorf("the index's page lacks its platforms:\n%s", p.body)
	}
}

func TestSessionEndsWithTheAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		end  func() error
	}{
		{"disabled", func() error { return e.svc.SetDisabled(ctx, "alice", true) }},
		{"password changed", func() error { return e.svc.SetPassword(ctx, "alice", "another long password") }},
		{"revoked", func() error { _, err := e.svc.RevokeSessions(ctx, "alice"); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = e.svc.SetDisabled(ctx, "alice", false)
			_ = e.svc.SetPassword(ctx, "alice", alicePassword)
			b := e.browser()
			b.signIn("alice", alicePassword)
			// The session is a login session `wharf session ls` lists.
			sessions, err := e.svc.Sessions(ctx, "alice")
			if err != nil || len(sessions) == 0 || sessions[0].ClientID != sessionClient {
				t.Fatalf("sessions of alice: %+v %v", sessions, err)
			}
			if err := tc.end(); err != nil {
				t.Fatal(err)
			}
			if p := b.get("/ui/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/ui/login") {
				t.Errorf("after %s: %d %s; want the sign-in page", tc.name, p.status, p.header.Get("Location"))
			}
		})
	}
}

func TestSignInNeverReusesASession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice", alicePassword)
	u, _ := url.Parse(e.srv.URL + Prefix)
	first := ""
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			first = c.Value
		}
	}
	b.signIn("alice", alicePassword)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == sessionCookie && c.Value == first {
			t.Fatal("signing in again kept the session token")
		}
	}
	// The first session ended with the second sign-in.
	if _, err := accounts.NewSessionStore(e.meta).UseRefreshToken(t.Context(), first, time.Now()); err == nil {
		t.Error("the session a browser brought to a sign-in still lives")
	}
	sessions, _ := e.svc.Sessions(t.Context(), "alice")
	if len(sessions) != 1 {
		t.Errorf("%d live sessions; want 1", len(sessions))
	}
	// A wrong password shows the form again, with no session.
	c := e.browser()
	login := c.get("/ui/login")
	if p := c.post("/ui/login", url.Values{"csrf": {login.csrf(t)}, "username": {"alice"}, "password": {"wrong"}}); p.status != http.StatusForbidden ||
		!strings.Contains(p.body, "Incorrect user name or password") {
		t.Errorf("wrong password: %d\n%s", p.status, p.body)
	}
	if strings.Contains(e.logs.String(), alicePassword) {
		t.Error("a password is in the log")
	}
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                     "/ui/",
		"/ui/repos/team/app":   "/ui/repos/team/app",
		"//evil.example/ui/":   "/ui/",
		"https://evil.example": "/ui/",
		"/api/v1/users":        "/ui/",
		"/ui/\\evil":           "/ui/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// The repository list pages by name: the next page starts after the last
// name shown, and together the pages show each repository the user may
// pull once, none other.
func TestRepositoryListPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := map[string]bool{}
	for i := range reposPage + 2 {
		name := fmt.Sprintf("team/r%03d", i)
		e.push(name, "v1")
		want[name] = true
		if i%10 == 0 {
			e.push(fmt.Sprintf("other/r%03d", i), "v1") // bob's, which her pages must not show
		}
	}
	b := e.browser()
	b.signIn("alice", alicePassword)
	seen := map[string]bool{}
	repoLink := regexp.MustCompile(`class="repo" href="[^"]+">([^<]+)</a>`)
	nextLink := regexp.MustCompile(`<a id="next" href="([^"]+)">`)
	path, pages := "/ui/", 0
	for path != "" {
		pages++
		p := b.get(path)
		for _, m := range repoLink.FindAllStringSubmatch(p.body, -1) {
			if seen[m[1]] || !want[m[1]] {
				t.Errorf("page %d shows %s, which is either shown twice or not alice's", pages, m[1])
			}
			seen[m[1]] = true
		}
		path = ""
		if m := nextLink.FindStringSubmatch(p.body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	if len(seen) != len(want) || pages != 2 {
		t.Errorf("%d pages showed %d repositories; want 2 pages and %d", pages, len(seen), len(want))
	}
}

// A session of an account from another backend ends when that backend no
// longer admits the account: every page asks it, as a docker refresh does.
func TestSessionAsksItsBackend(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.push("team/app", "v1")
	b := e.browser()
	b.signIn("carol", carolPassword)
	if p := b.get("/ui/repos/team/app"); p.status != http.StatusOK {
		t.Fatalf("carol's repository: %d", p.status)
	}
	e.dir.removed.Store(true)
	if p := b.get("/ui/repos/team/app"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/ui/login") {
		t.Errorf("after the directory removed carol: %d %s; want the sign-in page", p.status, p.header.Get("Location"))
	}
	if sessions, err := e.svc.Sessions(t.Context(), "carol"); err != nil || len(sessions) != 0 {
		t.Errorf("carol's sessions after her backend refused her: %+v, %v; want none (revoked)", sessions, err)
	}
}

// A repository's tags sort by name or update time, either way.
func TestTagOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tag := range []string{"b", "c", "a"} { // pushed in this order
		e.push("team/app", tag)
	}
	b := e.browser()
	b.signIn("alice", alicePassword)
	tagLink := regexp.MustCompile(`class="tag" href="[^"]+">([^<]+)</a>`)
	for query, want := range map[string]string{
		"":                         "a b c",
		"?sort=name&order=desc":    "c b a",
		"?sort=updated&order=asc":  "b c a",
		"?sort=updated&order=desc": "a c b",
	} {
		var got []string
		for _, m := range tagLink.FindAllStringSubmatch(b.get("/ui/repos/team/app"+query).body, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, " ") != want {
			t.Errorf("tags%s: %v; want %s", query, got, want)
		}
	}
}

// TestProviderSession: the sign-in page offers the browser sign-ins, each
// started with ?ui=1 and the page to return to; the provider's callback
// opens a session that ends when the provider is to be asked again, and
// sends the browser back to a page of the interface only.
func TestProviderSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.SignIns = []SignIn{{Title: "GitHub", Start: "/auth/github/login"}} })
	b := e.browser()
	login := b.get("/ui/login?next=%2Fui%2Fr%2Fteam%2Fapp")
	if want := `href="/auth/github/login?next=%2Fui%2Fr%2Fteam%2Fapp&amp;ui=1"`; !strings.Contains(login.body, want) {
		t.Fatalf("the sign-in page does not offer GitHub (%s):\n%s", want, login.body)
	}
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	next := "https://elsewhere.example/ui/"
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.ui.ProviderSession(w, r, ProviderSignIn{Provider: "github", Account: "octocat",
			Labels: auth.Labels{"groups": {"acme"}}, Until: until, Next: next})
	}))
	defer callback.Close()
	resp, err := b.c.Get(callback.URL + "/auth/github/callback")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != Prefix {
		t.Fatalf("callback: %d to %q; want 303 to %s (never to another site)", resp.StatusCode, resp.Header.Get("Location"), Prefix)
	}
	if p := b.get(Prefix); p.status != http.StatusOK || !strings.Contains(p.body, "octocat") {
		t.Fatalf("the interface after a provider's sign-in: %d\n%s", p.status, p.body)
	}
	sessions, err := e.svc.Sessions(t.Context(), "octocat")
	if err != nil || len(sessions) != 1 || !sessions[0].ExpiresAt.Equal(until) {
		t.Fatalf("sessions = %+v, %v; want one ending at %v, when the provider is asked again", sessions, err, until)
	}
}
