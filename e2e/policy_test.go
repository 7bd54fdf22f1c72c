package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"wharf/e2e/harness"
)

// TestPolicies drives immutable tags, read-only mode and retention with
// go-containerregistry (crane's library) against a token-auth wharf serve.
func TestPolicies(t *testing.T) {
	harness.SkipIfShort(t)
	const adminPW = "the admin's e2e password"
	cfg := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(cfg, []byte(`immutable_tags:
  - {repositories: "prod/*", tags: "v*"}
retention:
  policies:
    - repositories: "ci/*"
      keep_last: 1
      untagged_after: 1ns
`), 0o600); err != nil {
		t.Fatal(err)
	}
	w := harness.StartWharfCommand(t, []string{"WHARF_ADMIN_PASSWORD=" + adminPW},
		"serve", "--config", cfg, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--auth", "token", "--tls", "off")
	t.Cleanup(httpClient.CloseIdleConnections)
	ctx := testContext(t, 5*time.Minute)
	admin := remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPW})
	api := adminClient{t: t, base: w.URL() + "/api/v1"}
	basic := basicAuth("admin", adminPW)
	push := func(repo string) (v1.Image, error) {
		img, err := random.Image(1024, 1)
		if err != nil {
			t.Fatal(err)
		}
		return img, remote.Write(ref(t, w, repo), img, remoteOpts(ctx, admin)...)
	}
	digestOf := func(img v1.Image) string {
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}

	t.Run("immutable tag", func(t *testing.T) {
		first, err := push("prod/app:v1")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref(t, w, "prod/app:v1"), first, remoteOpts(ctx, admin)...); err != nil {
			t.Fatalf("pushing the same image again: %v", err)
		}
		_, err = push("prod/app:v1")
		if err == nil {
			t.Fatal("moving an immutable tag succeeded")
		}
		for _, want := range []string{"DENIED", "prod/app:v1", `repositories: "prod/*", tags: "v*"`, digestOf(first)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("refusal %q does not mention %s", err, want)
			}
		}
		got, err := remote.Head(ref(t, w, "prod/app:v1"), remoteOpts(ctx, admin)...)
		if err != nil || got.Digest.String() != digestOf(first) {
			t.Fatalf("prod/app:v1 is %v (%v), want %s", got, err, digestOf(first))
		}
		if err := remote.Delete(ref(t, w, "prod/app:v1"), remoteOpts(ctx, admin)...); err == nil || !strings.Contains(err.Error(), "DENIED") {
			t.Fatalf("deleting the immutable tag: %v, want DENIED", err)
		}
		if _, err := push("prod/app:latest"); err != nil {
			t.Fatalf("a mutable tag: %v", err)
		}
		if _, err := push("prod/app:latest"); err != nil {
			t.Fatalf("moving a mutable tag: %v", err)
		}
	})

	t.Run("read-only through the admin API", func(t *testing.T) {
		const reason = "e2e storage migration"
		api.must(http.StatusOK, basic, "PUT", "/read-only", map[string]any{"read_only": true, "reason": reason}, nil)
		var err error
		deadline := time.Now().Add(15 * time.Second)
		for {
			if _, err = push("dev/app:1"); err != nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err == nil || !strings.Contains(err.Error(), "UNAVAILABLE") || !strings.Contains(err.Error(), reason) {
			t.Fatalf("push while read-only: %v; want UNAVAILABLE with the reason", err)
		}
		// Pulls work: the token server issues pull tokens, manifests and
		// blobs are served.
		img, err := remote.Image(ref(t, w, "prod/app:v1"), remoteOpts(ctx, admin)...)
		if err != nil {
			t.Fatalf("pull while read-only: %v", err)
		}
		if _, err := img.RawConfigFile(); err != nil {
			t.Fatalf("config blob while read-only: %v", err)
		}
		var mode struct {
			ReadOnly bool   `json:"read_only"`
			Reason   string `json:"reason"`
		}
		api.must(http.StatusOK, basic, "GET", "/read-only", nil, &mode)
		if !mode.ReadOnly || mode.Reason != reason {
			t.Fatalf("GET /read-only: %+v", mode)
		}
		api.must(http.StatusOK, basic, "PUT", "/read-only", map[string]any{"read_only": false}, nil)
		deadline = time.Now().Add(15 * time.Second)
		for {
			if _, err = push("dev/app:1"); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("push after read-only mode ended: %v", err)
		}
	})

	t.Run("retention dry run then run", func(t *testing.T) {
		old, err := push("ci/app:1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := push("ci/app:2"); err != nil {
			t.Fatal(err)
		}
		type item struct{ Tag, Digest, Reason string }
		var rep struct {
			DryRun       bool `json:"dry_run"`
			Untagged     int
			Deleted      int
			Repositories []struct {
				Repository string
				Untag      []item
				Delete     []item
				Kept       []item
			}
		}
		api.must(http.StatusOK, basic, "POST", "/retention", map[string]any{"dry_run": true}, &rep)
		if !rep.DryRun || len(rep.Repositories) != 1 || rep.Repositories[0].Repository != "ci/app" {
			t.Fatalf("dry run report: %+v", rep)
		}
		d := rep.Repositories[0]
		if len(d.Untag) != 1 || d.Untag[0].Tag != "1" || len(d.Delete) != 1 || d.Delete[0].Digest != digestOf(old) {
			t.Fatalf("dry run would remove %+v and %+v; want tag 1 and %s", d.Untag, d.Delete, digestOf(old))
		}
		wantTags(t, w, ctx, admin, "ci/app", []string{"1", "2"}) // nothing changed yet
		api.must(http.StatusOK, basic, "POST", "/retention", map[string]any{"dry_run": false}, &rep)
		if rep.DryRun || rep.Untagged != 1 || rep.Deleted != 1 {
			t.Fatalf("run report: %+v", rep)
		}
		wantTags(t, w, ctx, admin, "ci/app", []string{"2"})
		if _, err := remote.Head(ref(t, w, "ci/app@"+digestOf(old)), remoteOpts(ctx, admin)...); err == nil {
			t.Fatalf("the manifest %s the report said is deleted is still served", digestOf(old))
		}
		// The other repositories are no policy's.
		wantTags(t, w, ctx, admin, "dev/app", []string{"1"})
	})
}

func wantTags(t *testing.T, w *harness.Wharf, ctx context.Context, auth remote.Option, repo string, want []string) {
	t.Helper()
	r := ref(t, w, repo+":x").Context()
	tags, err := remote.List(r, remoteOpts(ctx, auth)...)
	if err != nil {
		t.Fatalf("list %s: %v", repo, err)
	}
	slices.Sort(tags)
	if !slices.Equal(tags, want) {
		t.Fatalf("%s has tags %v, want %v", repo, tags, want)
	}
}

// TestReadOnlyFlag: wharf serve --read-only refuses a push with UNAVAILABLE
// and Retry-After, and answers reads.
func TestReadOnlyFlag(t *testing.T) {
	w := harness.StartWharf(t, "--read-only")
	ctx := testContext(t, 2*time.Minute)
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	err = remote.Write(ref(t, w, "app:1"), img, remoteOpts(ctx)...)
	if err == nil || !strings.Contains(err.Error(), "UNAVAILABLE") || !strings.Contains(err.Error(), "read_only is set in the configuration") {
		t.Fatalf("push to a read-only wharf: %v", err)
	}
	res, err := httpClient.Post(w.URL()+"/v2/app/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "60" {
		t.Fatalf("POST upload: %d, Retry-After %q; want 503 and 60", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if _, err := remote.Catalog(ctx, ref(t, w, "app:1").Context().Registry, remoteOpts(ctx)...); err != nil {
		t.Fatalf("catalog while read-only: %v", err)
	}
}
