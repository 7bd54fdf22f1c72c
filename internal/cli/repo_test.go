package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wharf/internal/datadir"
	"wharf/internal/metadata"
	"wharf/internal/metadata/metadatatest"
	"wharf/internal/quota"
)

// seedRepos stores team/app and team/db (sharing a 1000-byte base layer,
// each with a 500-byte layer of its own and a 100-byte manifest) and solo
// in the data directory's database.
func seedRepos(t *testing.T, data string) {
	t.Helper()
	if err := datadir.New(data).Create(); err != nil {
		t.Fatal(err)
	}
	s, err := metadata.Open(t.Context(), "sqlite", datadir.New(data).Database(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, repo := range []string{"team/app", "team/db", "solo"} {
		m := metadatatest.Image(t, s, repo, repo, map[string]int64{"base": 1000, "own " + repo: 500})
		if err := s.PutManifest(t.Context(), m, []string{"v1", "latest"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRepoCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	seedRepos(t, data)
	cmd := func(args ...string) []string { return append(args, "--data", data) }

	var repos []metadata.RepositoryStats
	out := mustCLI(t, "", cmd("repo", "ls", "--json")...)
	if err := json.Unmarshal([]byte(out), &repos); err != nil || len(repos) != 3 {
		t.Fatalf("repo ls --json = %s (%v)", out, err)
	}
	for _, r := range repos {
		if r.Bytes != 1600 || r.Tags != 2 || r.Manifests != 1 || r.LastPush.IsZero() {
			t.Errorf("repo ls: %+v, want 2 tags, 1 manifest, 1600 bytes", r)
		}
	}
	out = mustCLI(t, "", cmd("repo", "ls", "team/")...)
	if !strings.Contains(out, "team/app") || strings.Contains(out, "solo") || !strings.Contains(out, "1.6 KiB") {
		t.Errorf("repo ls team/:\n%s", out)
	}
	// The namespace counts the shared base once: 1000 + 2×(500+100).
	var ns []metadata.NamespaceStats
	out = mustCLI(t, "", cmd("repo", "ls", "--namespaces", "--json")...)
	if err := json.Unmarshal([]byte(out), &ns); err != nil || len(ns) != 2 || ns[1].Namespace != "team/" || ns[1].Bytes != 2200 || ns[1].Repositories != 2 {
		t.Errorf("repo ls --namespaces --json = %s (%v)", out, err)
	}

	// tag rm: every argument is tried; the failures are named.
	out, _, err := runCLI(t, "", cmd("tag", "rm", "team/app:v1", "team/app:nope", "team/app", "solo:latest")...)
	if err == nil || !strings.Contains(err.Error(), "team/app:nope: no such") || !strings.Contains(err.Error(), `"team/app" is not REPO:TAG`) {
		t.Errorf("tag rm: error %v", err)
	}
	if !strings.Contains(out, "untagged team/app:v1") || !strings.Contains(out, "untagged solo:latest") {
		t.Errorf("tag rm output:\n%s", out)
	}
	out = mustCLI(t, "", cmd("repo", "ls", "--json")...)
	if err := json.Unmarshal([]byte(out), &repos); err != nil || repos[0].Tags != 1 || repos[1].Tags != 1 || repos[1].Manifests != 1 {
		t.Errorf("after tag rm: %s (%v)", out, err)
	}

	// repo rm: without a terminal, --yes is required and nothing changes.
	wantFail(t, "y\n", "add --yes", cmd("repo", "rm", "team/app")...)
	wantFail(t, "", "is not a repository name", cmd("repo", "rm", "Team/App", "--yes")...)
	out = mustCLI(t, "", cmd("repo", "rm", "team/app", "--yes")...)
	if !strings.Contains(out, "deleted team/app: 1 tags, 1 manifests, 2 blob links") || !strings.Contains(out, "garbage collection") {
		t.Errorf("repo rm output:\n%s", out)
	}
	wantFail(t, "", "team/app: no such", cmd("repo", "rm", "team/app", "--yes")...)
	out = mustCLI(t, "", cmd("repo", "ls", "--json")...)
	if err := json.Unmarshal([]byte(out), &repos); err != nil || len(repos) != 2 || repos[0].Name != "solo" || repos[1].Name != "team/db" {
		t.Errorf("after repo rm: %s (%v)", out, err)
	}
}

func TestQuotaLs(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	seedRepos(t, data)
	conf := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(conf, []byte("quotas:\n  - {repositories: \"team/*\", bytes: 4KiB}\n  - {repositories: other, bytes: 1GiB}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var list []quota.Status
	out := mustCLI(t, "", "quota", "ls", "--json", "--data", data, "--config", conf)
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("quota ls --json = %s (%v)", out, err)
	}
	want := []quota.Status{{Pattern: "team/*", Limit: 4096, Usage: 2200, Repositories: 2}, {Pattern: "other", Limit: 1 << 30}}
	if fmt.Sprint(list) != fmt.Sprint(want) {
		t.Errorf("quota ls = %+v, want %+v", list, want)
	}
	out = mustCLI(t, "", "quota", "ls", "--data", data, "--config", conf)
	if !strings.Contains(out, "team/*") || !strings.Contains(out, "2.1 KiB") || !strings.Contains(out, "54%") {
		t.Errorf("quota ls:\n%s", out)
	}
}
