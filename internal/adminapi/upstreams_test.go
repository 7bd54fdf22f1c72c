package adminapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"wharf/internal/adminapi"
	"wharf/internal/auth"
)

// TestUpstreamCredentials: admins set, list and remove an upstream's
// credential; the password reaches the store and no answer; the store's
// refusals are 404 and 400 with their explanation; callers without the
// admin scope change nothing; a server without upstreams answers 404.
func TestUpstreamCredentials(t *testing.T) {
	t.Parallel()
	const password = "upstream-Pa55word-never-echoed"
	var (
		mu     sync.Mutex
		stored = map[string]string{} // upstream → username:password
	)
	e := newEnvWith(t, false, hooks{api: func(c *adminapi.Config) {
		c.UpstreamCredentials = &adminapi.UpstreamCredentials{
			List: func(context.Context) (any, error) {
				mu.Lock()
				defer mu.Unlock()
				var out []map[string]any
				for name, up := range stored {
					user, _, _ := strings.Cut(up, ":")
					out = append(out, map[string]any{"upstream": name, "source": "database", "username": user})
				}
				return out, nil
			},
			Set: func(_ context.Context, upstream, username string, pw auth.Secret) (any, error) {
				if upstream != "hub" {
					return nil, fmt.Errorf("%w: no such upstream %q; the configured upstreams are hub", adminapi.ErrNoUpstream, upstream)
				}
				if username == "nokey" {
					return nil, fmt.Errorf("%w: no key file /etc/wharf/k: make one", adminapi.ErrCredentialKey)
				}
				if strings.Contains(username, ":") {
					return nil, fmt.Errorf("%w: the username holds a colon", adminapi.ErrInvalidCredential)
				}
				mu.Lock()
				defer mu.Unlock()
				stored[upstream] = username + ":" + pw.Reveal()
				return map[string]any{"upstream": upstream, "username": username}, nil
			},
			Remove: func(_ context.Context, upstream string) error {
				mu.Lock()
				defer mu.Unlock()
				if _, ok := stored[upstream]; !ok {
					return fmt.Errorf("%w for upstream %q", adminapi.ErrNoCredential, upstream)
				}
				delete(stored, upstream)
				return nil
			},
		}
	}})
	admin := basic("admin", adminPassword)
	body := map[string]string{"username": "acme", "password": password}
	if res := e.do(e.bearer("admin"), "PUT", "/api/v1/upstream-credentials/hub", body); res.status != http.StatusForbidden {
		t.Fatalf("PUT without the admin scope: %d", res.status)
	}
	res := e.must(http.StatusOK, admin, "PUT", "/api/v1/upstream-credentials/hub", body, nil)
	mu.Lock()
	got := stored["hub"]
	mu.Unlock()
	if got != "acme:"+password {
		t.Fatalf("stored %q", got)
	}
	list := e.must(http.StatusOK, admin, "GET", "/api/v1/upstream-credentials", nil, nil)
	if !strings.Contains(string(list.body), `"upstreams"`) || !strings.Contains(string(list.body), "acme") {
		t.Errorf("GET = %s", list.body)
	}
	if strings.Contains(string(res.body)+string(list.body), password) {
		t.Error("an answer holds the password")
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		code, says         string
	}{
		{"unknown upstream", "PUT", "/api/v1/upstream-credentials/ghcr", body, http.StatusNotFound, "not_found", "the configured upstreams are hub"},
		{"invalid username", "PUT", "/api/v1/upstream-credentials/hub", map[string]string{"username": "a:b", "password": password}, http.StatusBadRequest, "invalid", "colon"},
		{"no key file", "PUT", "/api/v1/upstream-credentials/hub", map[string]string{"username": "nokey", "password": password}, http.StatusConflict, "conflict", "no key file /etc/wharf/k"},
		{"no password", "PUT", "/api/v1/upstream-credentials/hub", map[string]string{"username": "acme"}, http.StatusBadRequest, "invalid", "password is required"},
		{"unknown member", "PUT", "/api/v1/upstream-credentials/hub", map[string]string{"username": "acme", "password": password, "token": "x"}, http.StatusBadRequest, "invalid", "token"},
		{"removed twice", "DELETE", "/api/v1/upstream-credentials/ghcr", nil, http.StatusNotFound, "not_found", `for upstream "ghcr"`},
	} {
		res := e.do(admin, tc.method, tc.path, tc.body)
		code, msg, _ := res.errorOf(t)
		if res.status != tc.status || code != tc.code || !strings.Contains(msg, tc.says) || strings.Contains(string(res.body), password) {
			t.Errorf("%s: %d %s; want %d %s saying %q", tc.name, res.status, res.body, tc.status, tc.code, tc.says)
		}
	}
	e.must(http.StatusNoContent, admin, "DELETE", "/api/v1/upstream-credentials/hub", nil, nil)
	if res := newEnv(t).do(admin, "GET", "/api/v1/upstream-credentials", nil); res.status != http.StatusNotFound {
		t.Errorf("GET on a server without upstreams: %d, want 404", res.status)
	}
}
