package ociapi_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/ociapi"
	"wharf/internal/registry"
	"wharf/internal/storage/memory"
)

// newPolicyServer serves the real handler over a store it returns, with
// prod's v* tags immutable and the registry options given.
func newPolicyServer(t *testing.T, opts registry.Options) (*httptest.Server, *metadata.Store) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	meta.SetTagGuard(func(repo, tag string) (string, bool) {
		return `{repositories: "prod/*", tags: "v*"}`, strings.HasPrefix(repo, "prod/") && strings.HasPrefix(tag, "v")
	})
	reg := registry.New(memory.New(), meta, log, opts)
	srv := httptest.NewServer(ociapi.New(reg, log, nil, ociapi.Options{DeleteEnabled: true}))
	t.Cleanup(srv.Close)
	return srv, meta
}

// pushImage pushes a one-layer image whose layer is content to repo:ref
// and returns the response and the manifest's digest.
func pushImageTo(t *testing.T, base, repo, ref, content string) (response, digest.Digest) {
	t.Helper()
	cfg := pushBlob(t, base, repo, []byte("{}"))
	layer := pushBlob(t, base, repo, []byte(content))
	m := imageManifest(cfg, layer, 2, len(content))
	return do(t, "PUT", base+"/v2/"+repo+"/manifests/"+ref, m, "Content-Type", ociManifest), digest.FromBytes(m)
}

func TestImmutableTag(t *testing.T) {
	srv, _ := newPolicyServer(t, registry.Options{})
	base := srv.URL
	r, first := pushImageTo(t, base, "prod/app", "v1", "one")
	expect(t, r, http.StatusCreated, "")
	r, _ = pushImageTo(t, base, "prod/app", "v1", "one") // the same digest again
	expect(t, r, http.StatusCreated, "")

	r, _ = pushImageTo(t, base, "prod/app", "v1", "two")
	expect(t, r, http.StatusForbidden, "DENIED")
	for _, want := range []string{"prod/app:v1", `{repositories: \"prod/*\", tags: \"v*\"}`, first.String(), "new tag"} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("refusal %s does not mention %s", r.body, want)
		}
	}
	if got := do(t, "GET", base+"/v2/prod/app/manifests/v1", nil); got.header.Get("Docker-Content-Digest") != first.String() {
		t.Fatalf("v1 now %q, want %s", got.header.Get("Docker-Content-Digest"), first)
	}

	// Deleting the tag or its manifest is refused too; mutable tags and
	// other repositories are not concerned.
	expect(t, do(t, "DELETE", base+"/v2/prod/app/manifests/v1", nil), http.StatusForbidden, "DENIED")
	expect(t, do(t, "DELETE", base+"/v2/prod/app/manifests/"+first.String(), nil), http.StatusForbidden, "DENIED")
	r, _ = pushImageTo(t, base, "prod/app", "latest", "one")
	expect(t, r, http.StatusCreated, "")
	r, _ = pushImageTo(t, base, "prod/app", "latest", "two")
	expect(t, r, http.StatusCreated, "")
	r, _ = pushImageTo(t, base, "dev/app", "v1", "one")
	expect(t, r, http.StatusCreated, "")
	r, _ = pushImageTo(t, base, "dev/app", "v1", "two")
	expect(t, r, http.StatusCreated, "")
}

// TestImmutableTagRace: eight clients push different images to the same
// new immutable tag at once: one is created, the others are refused, and
// the tag names the winner.
func TestImmutableTagRace(t *testing.T) {
	srv, _ := newPolicyServer(t, registry.Options{})
	base := srv.URL
	const n = 8
	manifests := make([][]byte, n)
	for i := range n {
		cfg := pushBlob(t, base, "prod/race", []byte("{}"))
		layer := pushBlob(t, base, "prod/race", fmt.Appendf(nil, "layer %d", i))
		manifests[i] = imageManifest(cfg, layer, 2, len(fmt.Sprintf("layer %d", i)))
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			statuses[i] = do(t, "PUT", base+"/v2/prod/race/manifests/v1", manifests[i], "Content-Type", ociManifest).status
		})
	}
	close(start)
	wg.Wait()
	won := -1
	for i, s := range statuses {
		switch s {
		case http.StatusCreated:
			if won >= 0 {
				t.Fatalf("pushes %d and %d both created v1 (statuses %v)", won, i, statuses)
			}
			won = i
		case http.StatusForbidden:
		default:
			t.Fatalf("push %d: status %d; want 201 or 403 (statuses %v)", i, s, statuses)
		}
	}
	if won < 0 {
		t.Fatalf("no push created v1: %v", statuses)
	}
	got := do(t, "GET", base+"/v2/prod/race/manifests/v1", nil).header.Get("Docker-Content-Digest")
	if got != digest.FromBytes(manifests[won]).String() {
		t.Fatalf("v1 = %s, want the winner's %s", got, digest.FromBytes(manifests[won]))
	}
}

// expectReadOnly checks a refused write: 503 UNAVAILABLE, Retry-After and
// the reason.
func expectReadOnly(t *testing.T, r response, reason string) {
	t.Helper()
	expect(t, r, http.StatusServiceUnavailable, "UNAVAILABLE")
	if got := r.header.Get("Retry-After"); got != fmt.Sprint(ociapi.ReadOnlyRetryAfter) {
		t.Errorf("Retry-After = %q, want %d", got, ociapi.ReadOnlyRetryAfter)
	}
	if !strings.Contains(string(r.body), reason) {
		t.Errorf("refusal %s does not give the reason %q", r.body, reason)
	}
}

func TestReadOnlyAtRuntime(t *testing.T) {
	srv, meta := newPolicyServer(t, registry.Options{})
	base := srv.URL
	r, dgst := pushImageTo(t, base, "app", "latest", "one")
	expect(t, r, http.StatusCreated, "")
	const reason = "disk migration until 14:00"
	if err := meta.SetReadOnly(t.Context(), true, reason); err != nil {
		t.Fatal(err)
	}
	// Seen within registry.ReadOnlyRefresh: poll for it, no timing asserted.
	post := func() response { return do(t, "POST", base+"/v2/app/blobs/uploads/", nil) }
	waitFor(t, "read-only mode to be seen", func() bool { return post().status == http.StatusServiceUnavailable })
	expectReadOnly(t, post(), reason)
	expectReadOnly(t, do(t, "PUT", base+"/v2/app/manifests/other", []byte("{}"), "Content-Type", ociManifest), reason)
	expectReadOnly(t, do(t, "DELETE", base+"/v2/app/manifests/latest", nil), reason)
	expectReadOnly(t, do(t, "DELETE", base+"/v2/app/blobs/"+dgst.String(), nil), reason)
	expectReadOnly(t, do(t, "PATCH", base+"/v2/app/blobs/uploads/x", []byte("x")), reason)
	// Reads keep working.
	expect(t, do(t, "GET", base+"/v2/app/manifests/latest", nil), http.StatusOK, "")
	expect(t, do(t, "HEAD", base+"/v2/app/manifests/"+dgst.String(), nil), http.StatusOK, "")
	expect(t, do(t, "GET", base+"/v2/app/tags/list", nil), http.StatusOK, "")

	if err := meta.SetReadOnly(t.Context(), false, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "read-only mode to end", func() bool { return post().status == http.StatusAccepted })
	r, _ = pushImageTo(t, base, "app", "latest", "two")
	expect(t, r, http.StatusCreated, "")
}

func TestReadOnlyConfigured(t *testing.T) {
	srv, meta := newPolicyServer(t, registry.Options{ReadOnly: true})
	// The database saying otherwise does not lift the configuration's.
	if err := meta.SetReadOnly(t.Context(), false, ""); err != nil {
		t.Fatal(err)
	}
	expectReadOnly(t, do(t, "POST", srv.URL+"/v2/app/blobs/uploads/", nil), "read_only is set in the configuration")
	expect(t, do(t, "GET", srv.URL+"/v2/", nil), http.StatusOK, "")
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
