package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/datadir"
	"wharf/internal/metadata"
	"wharf/internal/retention"
)

// pushFixture stores an image tagged tag in repo, straight into the
// metadata database of data.
func pushFixture(t *testing.T, s *metadata.Store, repo, name, tag string) digest.Digest {
	t.Helper()
	layer := digest.FromString("layer " + name)
	if err := s.AddBlob(t.Context(), repo, layer, 7); err != nil {
		t.Fatal(err)
	}
	payload := fmt.Appendf(nil, `{"schemaVersion":2,"name":%q}`, name)
	m := &metadata.Manifest{Repo: repo, Digest: digest.FromBytes(payload), MediaType: "application/vnd.oci.image.manifest.v1+json",
		Size: int64(len(payload)), Payload: payload, Refs: []metadata.Ref{{Digest: layer, Kind: metadata.RefBlob}}}
	if err := s.PutManifest(t.Context(), m, []string{tag}); err != nil {
		t.Fatal(err)
	}
	return m.Digest
}

func TestRetentionCommand(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(cfg, []byte(`data: `+data+`
immutable_tags:
  - {repositories: app, tags: "v0"}
retention:
  policies:
    - repositories: app
      keep_last: 1
      untagged_after: 1ns
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := datadir.New(data).Create(); err != nil {
		t.Fatal(err)
	}
	s, err := metadata.Open(t.Context(), "sqlite", datadir.New(data).Database(), nil)
	if err != nil {
		t.Fatal(err)
	}
	v0 := pushFixture(t, s, "app", "zero", "v0")
	v1 := pushFixture(t, s, "app", "one", "v1")
	v2 := pushFixture(t, s, "app", "two", "v2")
	other := pushFixture(t, s, "other", "one", "v1") // no policy matches
	s.Close()

	var rep retention.Report
	out := mustCLI(t, "", "retention", "--config", cfg, "--dry-run", "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json printed %q: %v", out, err)
	}
	if !rep.DryRun || rep.Untagged != 1 || rep.Deleted != 1 || len(rep.Repositories) != 1 {
		t.Fatalf("dry run report %+v; want v1 untagged and its manifest deleted in app only", rep)
	}
	d := rep.Repositories[0]
	if len(d.Untag) != 1 || d.Untag[0].Tag != "v1" || len(d.Delete) != 1 || d.Delete[0].Digest != v1 {
		t.Fatalf("decision %+v; want v1 and %s to go", d, v1)
	}
	text := mustCLI(t, "", "retention", "--config", cfg, "--dry-run")
	for _, want := range []string{"would untag", "v1", "keep_last 1: newest #1", "immutable", "would be removed (dry run"} {
		if !strings.Contains(text, want) {
			t.Errorf("dry-run report does not say %q:\n%s", want, text)
		}
	}
	// Nothing changed yet: the real run removes what the report said.
	out = mustCLI(t, "", "retention", "--config", cfg)
	if !strings.Contains(out, "1 tags and 1 manifests removed") {
		t.Fatalf("run report:\n%s", out)
	}
	s, err = metadata.Open(t.Context(), "sqlite", datadir.New(data).Database(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		repo, tag string
		want      digest.Digest
	}{{"app", "v0", v0}, {"app", "v2", v2}, {"app", "v1", ""}, {"other", "v1", other}} {
		got, err := s.ResolveTag(t.Context(), tc.repo, tc.tag)
		if got != tc.want || (tc.want != "" && err != nil) {
			t.Errorf("%s:%s → %q, %v; want %q", tc.repo, tc.tag, got, err, tc.want)
		}
	}
	if _, err := s.GetManifest(t.Context(), "app", v1); err == nil {
		t.Errorf("the untagged manifest %s is still there", v1)
	}

	bare := filepath.Join(t.TempDir(), "bare.yml")
	if err := os.WriteFile(bare, []byte("data: "+data+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantFail(t, "", "no policies", "retention", "--config", bare)
}
