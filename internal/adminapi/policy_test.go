package adminapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/adminapi"
	"wharf/internal/metadata"
	"wharf/internal/retention"
)

func TestReadOnlyMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.bearer("admin", adminScope)
	var v adminapi.ReadOnlyView
	e.must(http.StatusOK, admin, "GET", "/api/v1/read-only", nil, &v)
	if v.ReadOnly || v.Configured || v.UpdatedAt != nil {
		t.Fatalf("initial mode %+v; want off, never set", v)
	}
	e.must(http.StatusOK, admin, "PUT", "/api/v1/read-only", map[string]any{"read_only": true, "reason": " disk swap "}, &v)
	if !v.ReadOnly || v.Reason != "disk swap" || v.UpdatedAt == nil {
		t.Fatalf("after PUT: %+v", v)
	}
	st, err := e.store.ReadOnly(t.Context())
	if err != nil || !st.Enabled || st.Reason != "disk swap" {
		t.Fatalf("stored mode %+v, %v", st, err)
	}
	if !strings.Contains(e.log.String(), "read-only mode set") {
		t.Errorf("the change is not logged:\n%s", e.log)
	}
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{"reason": "x"}, "read_only"},
		{map[string]any{"read_only": true, "reason": "two\nlines"}, "reason"},
		{map[string]any{"read_only": true, "reason": strings.Repeat("r", metadata.MaxReadOnlyReason+1)}, "reason"},
	} {
		res := e.must(http.StatusBadRequest, admin, "PUT", "/api/v1/read-only", tc.body, nil)
		if _, _, field := res.errorOf(t); field != tc.field {
			t.Errorf("%v: field %q, want %q", tc.body, field, tc.field)
		}
	}
	e.must(http.StatusOK, admin, "PUT", "/api/v1/read-only", map[string]any{"read_only": false}, &v)
	if v.ReadOnly || v.Reason != "" {
		t.Fatalf("after turning it off: %+v", v)
	}
	// Only administrators.
	e.must(http.StatusUnauthorized, "", "PUT", "/api/v1/read-only", map[string]any{"read_only": true}, nil)
	e.must(http.StatusForbidden, e.bearer("alice"), "GET", "/api/v1/read-only", nil, nil)
}

func TestRetentionRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.bearer("admin", adminScope)
	var old digest.Digest
	for i, tag := range []string{"old", "new"} {
		layer := digest.FromString(tag)
		if err := e.store.AddBlob(t.Context(), "app", layer, 3); err != nil {
			t.Fatal(err)
		}
		payload := fmt.Appendf(nil, `{"schemaVersion":2,"n":%d}`, i)
		m := &metadata.Manifest{Repo: "app", Digest: digest.FromBytes(payload), MediaType: "application/vnd.oci.image.manifest.v1+json",
			Size: int64(len(payload)), Payload: payload, Refs: []metadata.Ref{{Digest: layer, Kind: metadata.RefBlob}}}
		if err := e.store.PutManifest(t.Context(), m, []string{tag}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			old = m.Digest
		}
	}
	var rep retention.Report
	e.must(http.StatusOK, admin, "POST", "/api/v1/retention", map[string]any{"dry_run": true}, &rep)
	if !rep.DryRun || rep.Untagged != 1 || len(rep.Repositories) != 1 || rep.Repositories[0].Untag[0].Tag != "old" {
		t.Fatalf("dry run: %+v", rep)
	}
	if d, err := e.store.ResolveTag(t.Context(), "app", "old"); err != nil || d != old {
		t.Fatalf("a dry run removed the tag: %s, %v", d, err)
	}
	e.must(http.StatusOK, admin, "POST", "/api/v1/retention", map[string]any{"dry_run": false}, &rep)
	if rep.DryRun || rep.Untagged != 1 {
		t.Fatalf("run: %+v", rep)
	}
	if _, err := e.store.ResolveTag(t.Context(), "app", "old"); err == nil {
		t.Fatal("the run left the tag")
	}
	// While read-only, only a dry run.
	if err := e.store.SetReadOnly(t.Context(), true, "backup"); err != nil {
		t.Fatal(err)
	}
	res := e.must(http.StatusConflict, admin, "POST", "/api/v1/retention", map[string]any{"dry_run": false}, nil)
	if _, msg, _ := res.errorOf(t); !strings.Contains(msg, "read-only (backup)") {
		t.Errorf("refusal while read-only: %q", msg)
	}
	e.must(http.StatusOK, admin, "POST", "/api/v1/retention", map[string]any{"dry_run": true}, nil)
	res = e.must(http.StatusBadRequest, admin, "POST", "/api/v1/retention", map[string]any{}, nil)
	if _, _, field := res.errorOf(t); field != "dry_run" {
		t.Errorf("missing dry_run: field %q", field)
	}
	e.must(http.StatusUnauthorized, "", "POST", "/api/v1/retention", map[string]any{"dry_run": true}, nil)
}
