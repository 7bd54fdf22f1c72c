package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/progress"
	"wharf/internal/testserver"
)

func openStore(t *testing.T) *metadata.Store {
	t.Helper()
	s, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func pushTo(t *testing.T, s *metadata.Store, repo, name string, tags ...string) digest.Digest {
	t.Helper()
	layer := digest.FromString("layer " + name)
	if err := s.AddBlob(t.Context(), repo, layer, 1); err != nil {
		t.Fatal(err)
	}
	payload := fmt.Appendf(nil, `{"schemaVersion":2,"name":%q}`, name)
	m := &metadata.Manifest{Repo: repo, Digest: digest.FromBytes(payload), MediaType: "application/vnd.oci.image.manifest.v1+json",
		Size: int64(len(payload)), Payload: payload, Refs: []metadata.Ref{{Digest: layer, Kind: metadata.RefBlob}}}
	if err := s.PutManifest(t.Context(), m, tags); err != nil {
		t.Fatal(err)
	}
	return m.Digest
}

// TestRunAppliesTheDryRun: a run removes exactly what the dry run before
// it reported, in the repositories a policy matches, and nothing else.
func TestRunAppliesTheDryRun(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	old := pushTo(t, s, "ci/app", "old", "1")
	pushTo(t, s, "ci/app", "new", "2")
	pushTo(t, s, "prod/app", "p", "1")
	pushTo(t, s, "prod/app", "q", "2")
	r := &Runner{Meta: s, Policies: []Policy{{Repositories: "ci/*", KeepLast: 1, UntaggedAfter: time.Nanosecond}},
		Log: slog.New(slog.DiscardHandler)}
	dry, err := r.Run(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	if dry.Untagged != 1 || dry.Deleted != 1 || len(dry.Repositories) != 1 {
		t.Fatalf("dry run %+v", dry)
	}
	if _, err := s.ResolveTag(t.Context(), "ci/app", "1"); err != nil {
		t.Fatalf("the dry run removed a tag: %v", err)
	}
	run, err := r.Run(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	if run.Untagged != 1 || run.Deleted != 1 || len(run.Skipped) != 0 {
		t.Fatalf("run %+v", run)
	}
	if _, err := s.GetManifest(t.Context(), "ci/app", old); err == nil {
		t.Fatal("the old manifest is still there")
	}
	for _, tag := range []string{"1", "2"} {
		if _, err := s.ResolveTag(t.Context(), "prod/app", tag); err != nil {
			t.Errorf("prod/app:%s, which no policy matches, is gone: %v", tag, err)
		}
	}
	again, err := r.Run(t.Context(), false)
	if err != nil || again.Untagged+again.Deleted != 0 {
		t.Fatalf("a second run removed more: %+v, %v", again, err)
	}

	// Read-only: dry runs only, whether the database or the
	// configuration says so.
	pushTo(t, s, "ci/app", "newest", "3")
	if err := s.SetReadOnly(t.Context(), true, "backup"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(t.Context(), false); !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "backup") {
		t.Fatalf("run while read-only: %v", err)
	}
	if rep, err := r.Run(t.Context(), true); err != nil || rep.Untagged != 1 {
		t.Fatalf("dry run while read-only: %+v, %v", rep, err)
	}
	if err := s.SetReadOnly(t.Context(), false, ""); err != nil {
		t.Fatal(err)
	}
	r.ReadOnly = true
	if _, err := r.Run(t.Context(), false); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("run with read_only configured: %v", err)
	}
	if _, err := s.ResolveTag(t.Context(), "ci/app", "2"); err != nil {
		t.Fatalf("a refused run removed a tag: %v", err)
	}
}

// TestSchedule: one log line per run, and runs until the context ends.
func TestSchedule(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	pushTo(t, s, "ci/app", "old", "1")
	pushTo(t, s, "ci/app", "new", "2")
	logs := &testserver.SyncBuffer{}
	r := &Runner{Meta: s, Policies: []Policy{{Repositories: "ci/*", KeepLast: 1}},
		Log: slog.New(slog.NewTextHandler(logs, nil))}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Schedule(ctx, 10*time.Millisecond); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), `msg="retention run"`) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no two runs logged:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if !strings.Contains(logs.String(), "untagged=1") {
		t.Errorf("the first run's line does not count the tag it removed:\n%s", logs)
	}
	if _, err := s.ResolveTag(t.Context(), "ci/app", "1"); err == nil {
		t.Error("the scheduled run left the tag")
	}
}

// TestProgress: the progress line counts repositories and removals.
func TestProgress(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	pushTo(t, s, "ci/app", "old", "1")
	pushTo(t, s, "ci/app", "new", "2")
	pushTo(t, s, "other", "o", "1")
	out := &testserver.SyncBuffer{}
	r := &Runner{Meta: s, Policies: []Policy{{Repositories: "ci/*", KeepLast: 1}}, Log: slog.New(slog.DiscardHandler),
		Progress: progress.New(out, true, 0, "retention", "evaluating")}
	if _, err := r.Run(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "2/2 repositories, 1 tags and 0 manifests") {
		t.Fatalf("progress line %q", out)
	}
}

// TestScheduleTakesTurns: a replica whose turn it is not (another holds the
// job's lease) skips the scheduled run and removes nothing; one whose turn
// it is runs.
func TestScheduleTakesTurns(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	pushTo(t, s, "ci/app", "old", "1")
	pushTo(t, s, "ci/app", "new", "2")
	logs := &testserver.SyncBuffer{}
	var asked atomic.Int32
	mine := atomic.Bool{}
	r := &Runner{Meta: s, Policies: []Policy{{Repositories: "ci/*", KeepLast: 1}},
		Log:  slog.New(slog.NewTextHandler(logs, nil)),
		Turn: func(context.Context) (bool, error) { asked.Add(1); return mine.Load(), nil }}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Schedule(ctx, 5*time.Millisecond); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for asked.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatal("the schedule never asked for its turn")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if strings.Contains(logs.String(), `msg="retention run"`) {
		t.Fatalf("a run without its turn:\n%s", logs)
	}
	if _, err := s.ResolveTag(t.Context(), "ci/app", "1"); err != nil {
		t.Fatalf("a replica without its turn removed a tag: %v", err)
	}
	mine.Store(true)
	for !strings.Contains(logs.String(), `msg="retention run"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no run once it was its turn:\n%s", logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}
