package adminapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"wharf/internal/adminapi"
)

// TestTokenKeys: the key set is listed and rotated by admins only; a
// configured key is a 409 that says how to rotate it; a server that signs
// nothing answers 404.
func TestTokenKeys(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex // the handlers run on the server's goroutines
	rotated := 0
	keys := []map[string]any{{"kid": "old", "signing": true}}
	e := newEnvWith(t, false, hooks{api: func(c *adminapi.Config) {
		c.TokenKeys = &adminapi.TokenKeys{
			List: func(context.Context) (any, error) {
				mu.Lock()
				defer mu.Unlock()
				return keys, nil
			},
			Rotate: func(context.Context) (any, error) {
				mu.Lock()
				defer mu.Unlock()
				rotated++
				keys = []map[string]any{{"kid": "new", "signing": true}, {"kid": "old", "signing": false}}
				return keys, nil
			},
		}
	}})
	rotations := func() int {
		mu.Lock()
		defer mu.Unlock()
		return rotated
	}
	admin := basic("admin", adminPassword)
	var got struct {
		Keys []struct {
			KID     string `json:"kid"`
			Signing bool   `json:"signing"`
		} `json:"keys"`
	}
	e.must(http.StatusOK, admin, "GET", "/api/v1/token-keys", nil, &got)
	if len(got.Keys) != 1 || got.Keys[0].KID != "old" {
		t.Fatalf("GET /token-keys = %+v", got)
	}
	if res := e.do(e.bearer("admin"), "POST", "/api/v1/token-keys/rotate", nil); res.status != http.StatusForbidden || rotations() != 0 {
		t.Fatalf("rotate without the admin scope: %d, rotated %d; want 403 and no rotation", res.status, rotations())
	}
	e.must(http.StatusOK, admin, "POST", "/api/v1/token-keys/rotate", nil, &got)
	if rotations() != 1 || len(got.Keys) != 2 || got.Keys[0].KID != "new" || !got.Keys[0].Signing {
		t.Fatalf("rotate = %+v after %d rotations", got, rotations())
	}

	configured := newEnvWith(t, false, hooks{api: func(c *adminapi.Config) {
		fail := func(context.Context) (any, error) {
			return nil, fmt.Errorf("%w: token.key", adminapi.ErrKeysConfigured)
		}
		c.TokenKeys = &adminapi.TokenKeys{List: fail, Rotate: fail}
	}})
	res := configured.do(admin, "POST", "/api/v1/token-keys/rotate", nil)
	if code, msg, _ := res.errorOf(t); res.status != http.StatusConflict || code != "conflict" || msg == "" {
		t.Errorf("rotate with a configured key: %d %s; want 409 saying how to rotate", res.status, res.body)
	}
	if res := newEnv(t).do(admin, "GET", "/api/v1/token-keys", nil); res.status != http.StatusNotFound {
		t.Errorf("GET on a server that signs nothing: %d, want 404", res.status)
	}
}
