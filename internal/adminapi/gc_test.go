package adminapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"wharf/internal/adminapi"
)

// fakeGC stands in for the server's schedule: the API's part is the
// request, the answers and the refusal of a second run.
type fakeGC struct {
	mu      sync.Mutex
	running bool
	started []string
}

func (f *fakeGC) api() *adminapi.GC {
	return &adminapi.GC{
		Start: func(_ context.Context, dryRun, deleteUntagged bool) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.running {
				return fmt.Errorf("%w: on this server", adminapi.ErrGCBusy)
			}
			f.running = true
			f.started = append(f.started, fmt.Sprintf("dry_run=%v delete_untagged=%v", dryRun, deleteUntagged))
			return nil
		},
		Status: func(context.Context) (any, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return map[string]any{"running": f.running}, nil
		},
	}
}

func TestGC(t *testing.T) {
	t.Parallel()
	f := &fakeGC{}
	e := newEnvWith(t, false, hooks{api: func(c *adminapi.Config) { c.GC = f.api() }})
	admin := basic("admin", adminPassword)

	var st struct {
		Running bool `json:"running"`
	}
	e.must(http.StatusOK, admin, "GET", "/api/v1/gc", nil, &st)
	if st.Running {
		t.Error("running before any start")
	}
	e.must(http.StatusAccepted, admin, "POST", "/api/v1/gc", map[string]bool{"dry_run": true, "delete_untagged": true}, &st)
	if !st.Running {
		t.Error("POST answered a status that is not running")
	}
	res := e.do(admin, "POST", "/api/v1/gc", map[string]bool{})
	if code, _, _ := res.errorOf(t); res.status != http.StatusConflict || code != "conflict" {
		t.Errorf("second POST: %d %s, want 409 conflict", res.status, res.body)
	}
	res = e.do(admin, "POST", "/api/v1/gc", `{"dry_run": true, "grace": "0s"}`)
	if code, _, field := res.errorOf(t); res.status != http.StatusBadRequest || code != "invalid" || field != "grace" {
		t.Errorf("unknown member: %d %s, want 400 naming grace", res.status, res.body)
	}
	if len(f.started) != 1 || f.started[0] != "dry_run=true delete_untagged=true" {
		t.Errorf("runs started: %q", f.started)
	}
	// Only admins: a token without the admin scope is refused.
	if res := e.do(e.bearer("admin"), "POST", "/api/v1/gc", map[string]bool{}); res.status != http.StatusForbidden {
		t.Errorf("POST without the admin scope: %d, want 403", res.status)
	}
	if res := e.do("", "GET", "/api/v1/gc", nil); res.status != http.StatusUnauthorized {
		t.Errorf("GET without credentials: %d, want 401", res.status)
	}

	// A server without a registry has no collection to run.
	none := newEnv(t)
	if res := none.do(admin, "GET", "/api/v1/gc", nil); res.status != http.StatusNotFound {
		t.Errorf("GET on a server without gc: %d %s, want 404", res.status, res.body)
	}
}
