package oauthlogin_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeForge is a test double of GitHub's and GitLab's OAuth endpoints and
// the REST API calls Wharf makes (we cannot reach the real services from
// tests). It checks what a real one checks: the client's secret, single-use
// codes, the PKCE verifier against the challenge, and bearer tokens.
type fakeForge struct {
	t        *testing.T
	srv      *httptest.Server
	secret   string
	callback string // GitHub's registered callback, used without redirect_uri

	mu         sync.Mutex
	codes      map[string]fakeCode   // code → its grant
	tokens     map[string]string     // access token → user
	refresh    map[string]string     // refresh token → user
	users      map[string]*fakeUser  // by login
	n          int
	expiresIn  int
}

type fakeCode struct{ user, challenge, redirect string }

type fakeUser struct {
	login  string
	orgs   []string
	teams  map[string][]string // org → team slugs
	groups []string            // GitLab group full paths
	state  string
}

func newFakeForge(t *testing.T, users ...*fakeUser) *fakeForge {
	f := &fakeForge{t: t, secret: "forge-secret", codes: map[string]fakeCode{}, tokens: map[string]string{},
		refresh: map[string]string{}, users: map[string]*fakeUser{}}
	for _, u := range users {
		f.users[u.login] = u
	}
	mux := http.NewServeMux()
	// GitHub
	mux.HandleFunc("GET /login/oauth/authorize", f.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", f.token)
	mux.HandleFunc("GET /api/user", f.api(func(u *fakeUser, w http.ResponseWriter, r *http.Request) { writeJSON(w, map[string]string{"login": u.login}) }))
	mux.HandleFunc("GET /api/orgs/{org}/members/{user}", f.api(func(u *fakeUser, w http.ResponseWriter, r *http.Request) {
		for _, o := range u.orgs {
			if o == r.PathValue("org") && u.login == r.PathValue("user") {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		http.NotFound(w, r)
	}))
	mux.HandleFunc("GET /api/user/orgs", f.api(func(u *fakeUser, w http.ResponseWriter, r *http.Request) {
		var out []map[string]string
		for _, o := range u.orgs {
			out = append(out, map[string]string{"login": o})
		}
		writeJSON(w, out)
	}))
	mux.HandleFunc("GET /api/user/teams", f.api(func(u *fakeUser, w http.ResponseWriter, r *http.Request) {
		var all []map[string]any
		for org, slugs := range u.teams {
			for _, s := range slugs {
				all = append(all, map[string]any{"slug": s, "organization": map[string]string{"login": org}})
			}
		}
		// One team per page, to exercise the Link header.
		page := 1
		fmt.Sscan(r.URL.Query().Get("page"), &page)
		if page < len(all) {
			w.Header().Set("Link", fmt.Sprintf(`<%s/api/user/teams?per_page=100&page=%d>; rel="next"`, f.srv.URL, page+1))
		}
		if page-1 < len(all) {
			all = all[page-1 : page]
		} else {
			all = nil
		}
		writeJSON(w, all)
	}))
	// GitLab
	mux.HandleFunc("GET /oauth/authorize", f.authorize)
	mux.HandleFunc("POST /oauth/token", f.token)
	mux.HandleFunc("GET /api/v4/user", f.api(func(u *fakeUser, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"username": u.login, "state": u.state})
	}))
	mux.HandleFunc("GET /api/v4/groups", f.api(func(u *fakeUser, w http.ResponseWriter, r *http.Request) {
		var out []map[string]string
		for _, g := range u.groups {
			out = append(out, map[string]string{"full_path": g})
		}
		writeJSON(w, out)
	}))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// signInAs is who the next authorization signs in as (the fake's "login
// page" is an immediate consent).
var signInAs sync.Map // *fakeForge → login

func (f *fakeForge) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	login, _ := signInAs.Load(f)
	if q.Get("client_id") != "forge-client" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" {
		redirect = f.callback
	}
	f.mu.Lock()
	f.n++
	code := fmt.Sprintf("code-%d", f.n)
	f.codes[code] = fakeCode{user: login.(string), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	f.mu.Unlock()
	http.Redirect(w, r, redirect+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
}

func (f *fakeForge) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != "forge-client" || r.PostForm.Get("client_secret") != f.secret {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]string{"error": "invalid_client"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var user string
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		c, ok := f.codes[r.PostForm.Get("code")]
		delete(f.codes, r.PostForm.Get("code"))
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge || r.PostForm.Get("redirect_uri") != c.redirect {
			w.WriteHeader(http.StatusBadRequest)
			writeJSON(w, map[string]string{"error": "invalid_grant"})
			return
		}
		user = c.user
	case "refresh_token":
		u, ok := f.refresh[r.PostForm.Get("refresh_token")]
		delete(f.refresh, r.PostForm.Get("refresh_token"))
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			writeJSON(w, map[string]string{"error": "invalid_grant"})
			return
		}
		user = u
	default:
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	f.n++
	access, refresh := fmt.Sprintf("access-%d", f.n), fmt.Sprintf("refresh-%d", f.n)
	f.tokens[access], f.refresh[refresh] = user, user
	resp := map[string]any{"access_token": access, "token_type": "bearer", "refresh_token": refresh}
	if f.expiresIn > 0 {
		resp["expires_in"] = f.expiresIn
	}
	writeJSON(w, resp)
}

// revoke ends every token of login.
func (f *fakeForge) revoke(login string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range f.tokens {
		if v == login {
			delete(f.tokens, k)
		}
	}
	for k, v := range f.refresh {
		if v == login {
			delete(f.refresh, k)
		}
	}
}

func (f *fakeForge) set(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

func (f *fakeForge) api(h func(*fakeUser, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		login, ok := f.tokens[tok]
		u := f.users[login]
		f.mu.Unlock()
		if !ok || u == nil {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		h(u, w, r)
	}
}
