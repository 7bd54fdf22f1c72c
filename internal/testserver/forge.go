package testserver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Forge is a test double of GitHub's and GitLab's OAuth endpoints and of
// the REST API calls Wharf makes: those services cannot be reached from
// tests. It checks what the real ones check: the client's id and secret,
// single-use codes, the PKCE verifier against the challenge, the
// redirect_uri against the authorization's, and bearer tokens. Its "login
// page" consents at once, as the user set with SignInAs.
//
// GitHub's endpoints are at /login/oauth/… with the API under /api;
// GitLab's at /oauth/… with the API under /api/v4.
type Forge struct {
	// URL is the server's base URL.
	URL string
	// ClientID and ClientSecret are the OAuth app's; SecretFile holds the
	// secret.
	ClientID, ClientSecret, SecretFile string
	// LogPath is the request log.
	LogPath string

	srv *httptest.Server

	mu        sync.Mutex
	callback  string // GitHub's registered callback, used without redirect_uri
	signInAs  string
	codes     map[string]fakeCode   // code → its grant
	tokens    map[string]string     // access token → user
	refresh   map[string]string     // refresh token → user
	users     map[string]*ForgeUser // by login
	n         int
	expiresIn int
}

type fakeCode struct{ user, challenge, redirect string }

// ForgeUser is a user of the Forge. Change it only inside Update.
type ForgeUser struct {
	Login  string
	Orgs   []string            // GitHub organizations
	Teams  map[string][]string // GitHub: organization → team slugs
	Groups []string            // GitLab: group full paths
	State  string              // GitLab: active, blocked, …
}

// StartForge starts the test double with users; it stops when the test
// ends.
func StartForge(t testing.TB, users ...*ForgeUser) *Forge {
	t.Helper()
	dir := t.TempDir()
	f := &Forge{ClientID: "forge-client", ClientSecret: "forge-secret", SecretFile: filepath.Join(dir, "client-secret"),
		LogPath: filepath.Join(dir, "forge.log"), codes: map[string]fakeCode{}, tokens: map[string]string{},
		refresh: map[string]string{}, users: map[string]*ForgeUser{}}
	if err := os.WriteFile(f.SecretFile, []byte(f.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(f.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		f.users[u.Login] = u
	}
	mux := http.NewServeMux()
	// GitHub
	mux.HandleFunc("GET /login/oauth/authorize", f.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", f.token)
	mux.HandleFunc("GET /api/user", f.api(func(u *ForgeUser, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"login": u.Login})
	}))
	mux.HandleFunc("GET /api/orgs/{org}/members/{user}", f.api(func(u *ForgeUser, w http.ResponseWriter, r *http.Request) {
		for _, o := range u.Orgs {
			if o == r.PathValue("org") && u.Login == r.PathValue("user") {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		http.NotFound(w, r)
	}))
	mux.HandleFunc("GET /api/user/orgs", f.api(func(u *ForgeUser, w http.ResponseWriter, r *http.Request) {
		var out []map[string]string
		for _, o := range u.Orgs {
			out = append(out, map[string]string{"login": o})
		}
		writeJSON(w, out)
	}))
	mux.HandleFunc("GET /api/user/teams", f.api(func(u *ForgeUser, w http.ResponseWriter, r *http.Request) {
		var all []map[string]any
		// In a stable order, as the real API: pages must not overlap.
		for _, org := range slices.Sorted(maps.Keys(u.Teams)) {
			for _, s := range u.Teams[org] {
				all = append(all, map[string]any{"slug": s, "organization": map[string]string{"login": org}})
			}
		}
		// One team per page, to exercise the Link header.
		page := 1
		fmt.Sscan(r.URL.Query().Get("page"), &page)
		if page < len(all) {
			w.Header().Set("Link", fmt.Sprintf(`<%s/api/user/teams?per_page=100&page=%d>; rel="next"`, f.URL, page+1))
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
	mux.HandleFunc("GET /api/v4/user", f.api(func(u *ForgeUser, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"username": u.Login, "state": u.State})
	}))
	mux.HandleFunc("GET /api/v4/groups", f.api(func(u *ForgeUser, w http.ResponseWriter, r *http.Request) {
		var out []map[string]string
		for _, g := range u.Groups {
			out = append(out, map[string]string{"full_path": g})
		}
		writeJSON(w, out)
	}))
	var logMu sync.Mutex
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logMu.Lock()
		fmt.Fprintf(logFile, "%s %s %s\n", time.Now().Format(time.RFC3339Nano), r.Method, r.URL.Path)
		logMu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	f.URL = f.srv.URL
	t.Cleanup(func() {
		f.srv.Close()
		logFile.Close()
		if t.Failed() {
			t.Logf("forge log (%s):\n%s", f.LogPath, Tail(f.LogPath, 40))
		}
	})
	return f
}

// SignInAs sets who the next authorizations sign in as.
func (f *Forge) SignInAs(login string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signInAs = login
}

// SetCallback sets the callback URL registered with the GitHub app, used
// when an authorization names no redirect_uri.
func (f *Forge) SetCallback(u string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.callback = u
}

// SetExpiresIn makes new access tokens expire after secs (GitLab's do);
// 0 means they do not.
func (f *Forge) SetExpiresIn(secs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expiresIn = secs
}

// Close stops the server early (a provider that is down).
func (f *Forge) Close() { f.srv.Close() }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Forge) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != f.ClientID || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	redirect := q.Get("redirect_uri")
	if redirect == "" {
		redirect = f.callback
	}
	f.n++
	code := fmt.Sprintf("code-%d", f.n)
	f.codes[code] = fakeCode{user: f.signInAs, challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	f.mu.Unlock()
	http.Redirect(w, r, redirect+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
}

func (f *Forge) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != f.ClientID || r.PostForm.Get("client_secret") != f.ClientSecret {
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

// Revoke ends every token of login.
func (f *Forge) Revoke(login string) {
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

// Update changes users under the server's lock.
func (f *Forge) Update(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

func (f *Forge) api(h func(*ForgeUser, http.ResponseWriter, *http.Request)) http.HandlerFunc {
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
