package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/crypto/bcrypt"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authz"
	"wharf/internal/events"
	"wharf/internal/metadata"
	"wharf/internal/registry"
	"wharf/internal/storage/memory"
	"wharf/internal/testserver"
)

const (
	service       = "wharf-test"
	alicePassword = "alice's long password"
	bobPassword   = "bob's long password"
	// dora may pull every repository.
	doraPassword = "dora's long password"
	// root administers (admin:api:*) and may pull nothing.
	rootPassword = "root's long password"
)

// env is the interface over a real metadata database, registry and the
// token server's kind of chains: alice may pull and delete in team/*, bob
// pull in other/*.
type env struct {
	t    testing.TB
	srv  *httptest.Server
	svc  *accounts.Service
	meta *metadata.Store
	reg  *registry.Registry
	logs *testserver.SyncBuffer
	dir  *directory
	// events are the events the interface recorded.
	events *recorder
	ui     *UI
}

type recorder struct {
	mu sync.Mutex
	ev []events.Event
}

func (r *recorder) Record(e *events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev = append(r.ev, *e)
}

func (r *recorder) all() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ev)
}

// newEnv starts the interface; each of opts may change its Config.
func newEnv(t testing.TB, opts ...func(*Config)) *env {
	t.Helper()
	ctx := t.Context()
	logs := &testserver.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	meta, err := metadata.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "wharf.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	live := accounts.NewLive(meta, accounts.LiveOptions{Log: log})
	dir := &directory{}
	chain := authn.NewChain(log, accounts.NewAuthenticator(live), dir)
	alice, bob, carol, dora, team, other, every := "alice", "bob", "carol", "dora", "team/*", "other/*", "/.*/"
	root, admin, api := "root", "admin", "api"
	acl, err := authz.New([]authz.Rule{
		{Match: authz.Match{Account: &root, Type: &admin, Name: &api}, Actions: []string{"*"}},
		{Match: authz.Match{Account: &alice, Type: ptr("repository"), Name: &team}, Actions: []string{"pull", "delete"}},
		{Match: authz.Match{Account: &bob, Type: ptr("repository"), Name: &other}, Actions: []string{"pull"}},
		{Match: authz.Match{Account: &carol, Type: ptr("repository"), Name: &team}, Actions: []string{"pull"}},
		{Match: authz.Match{Account: &dora, Type: ptr("repository"), Name: &every}, Actions: []string{"pull"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	layers := []accounts.Layer{{Name: "wharf.yml", ACL: acl}}
	svc := accounts.NewService(meta, accounts.Options{Cost: bcrypt.MinCost, TokenService: service, Layers: layers})
	for _, u := range []accounts.NewUser{{Name: "alice", Password: alicePassword}, {Name: "bob", Password: bobPassword}, {Name: "dora", Password: doraPassword},
		{Name: "root", Password: rootPassword}} {
		if err := svc.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	reg := registry.New(memory.New(), meta, log, registry.Options{})
	rec := &recorder{}
	cfg := Config{
		Authn: accounts.NewFresh(live, authn.NewCache(chain, authn.CacheOptions{})), Limiter: authn.NewLimiter(authn.LimiterOptions{}),
		Sessions: chain, Authz: accounts.NewGuard(authz.Chain{acl, accounts.NewACL(live)}, live, log),
		Accounts: svc, Live: live, Layers: layers,
		Store: accounts.NewSessionStore(meta), Meta: meta, Registry: reg, Service: service, DeleteEnabled: true, Log: log, Events: rec,
	}
	for _, o := range opts {
		o(&cfg)
	}
	u, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// As the server mounts it: each request reads the accounts once.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.ServeHTTP(w, r.WithContext(live.Pin(r.Context())))
	}))
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, svc: svc, meta: meta, reg: reg, logs: logs, dir: dir, events: rec, ui: u}
}

// directory is a backend of another kind than the database (as LDAP is):
// it admits carol, and confirms her sessions until she is removed.
type directory struct{ removed atomic.Bool }

const carolPassword = "carol's directory password"

func (d *directory) Name() string { return "directory" }

func (d *directory) Authenticate(_ context.Context, user string, pw auth.Secret) (authn.Result, auth.Labels, error) {
	if user != "carol" || d.removed.Load() {
		return authn.NoMatch, nil, nil
	}
	if pw.Reveal() != carolPassword {
		return authn.WrongPassword, nil, nil
	}
	return authn.Accepted, authn.WithStamp(nil, "carol-stamp"), nil
}

func (d *directory) CanConfirm(string) bool { return true }

func (d *directory) Confirm(_ context.Context, user, stamp string) (authn.Result, auth.Labels, error) {
	if user != "carol" || stamp != "carol-stamp" || d.removed.Load() {
		return authn.WrongPassword, nil, nil
	}
	return authn.Accepted, nil, nil
}

func ptr(s string) *string { return &s }

// push stores an image (a config and one layer) under repo:tag through
// the registry, as a docker push would.
func (e *env) push(repo, tag string) digest.Digest {
	e.t.Helper()
	ctx := e.t.Context()
	put := func(b []byte) ocispec.Descriptor { return e.putBlob(repo, b) }
	cfg, _ := json.Marshal(ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Config: ocispec.ImageConfig{Env: []string{"PATH=/bin"}, Cmd: []string{"/bin/sh"}, Labels: map[string]string{"team": "<b>core</b>"}}})
	c := put(cfg)
	c.MediaType = ocispec.MediaTypeImageConfig
	l := put([]byte("layer of " + repo))
	l.MediaType = ocispec.MediaTypeImageLayerGzip
	m, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: c, Layers: []ocispec.Descriptor{l}})
	res, err := e.reg.PutManifest(ctx, repo, tag, ocispec.MediaTypeImageManifest, m, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Digest
}

// putBlob uploads b to repo.
func (e *env) putBlob(repo string, b []byte) ocispec.Descriptor {
	e.t.Helper()
	ctx := e.t.Context()
	d := digest.FromBytes(b)
	up, err := e.reg.StartUpload(ctx, repo)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.reg.FinishUpload(ctx, repo, up.ID, d, 0, int64(len(b)), bytes.NewReader(b)); err != nil {
		e.t.Fatal(err)
	}
	return ocispec.Descriptor{Digest: d, Size: int64(len(b))}
}

// browser is a client with a cookie jar that does not follow redirects,
// so that each answer is seen.
type browser struct {
	t testing.TB
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(path string) page {
	b.t.Helper()
	return b.do(http.MethodGet, path, nil)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	return b.do(http.MethodPost, path, form)
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(out)}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (p page) csrf(t testing.TB) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", p.body)
	}
	return m[1]
}

// signIn signs in through the form and returns the session's CSRF token.
func (b *browser) signIn(user, password string) string {
	b.t.Helper()
	login := b.get("/ui/login")
	p := b.post("/ui/login", url.Values{"csrf": {login.csrf(b.t)}, "username": {user}, "password": {password}, "next": {"/ui/"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/" {
		b.t.Fatalf("sign-in as %s: %d %s\n%s", user, p.status, p.header.Get("Location"), p.body)
	}
	home := b.get("/ui/")
	if home.status != http.StatusOK {
		b.t.Fatalf("home page after sign-in: %d", home.status)
	}
	return home.csrf(b.t)
}
