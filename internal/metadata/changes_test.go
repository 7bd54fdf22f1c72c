package metadata_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// TestChangeGeneration checks the signal the registry's manifest cache
// trusts: on one SQLite file, the generation stays while nothing is
// committed, and moves after a commit by the same store or by another
// one (another replica, or the CLI), seen from each of them.
func TestChangeGeneration(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "wharf.db")
	var stores [2]*metadata.Store
	for i := range stores {
		s, err := metadata.Open(t.Context(), "sqlite", path, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	gens := func() [2]uint64 {
		t.Helper()
		var g [2]uint64
		for i, s := range stores {
			gen, ok, err := s.ChangeGeneration(t.Context())
			if err != nil || !ok {
				t.Fatalf("store %d: %d, %v, %v; want a generation", i, gen, ok, err)
			}
			g[i] = gen
		}
		return g
	}
	before := gens()
	if again := gens(); again != before {
		t.Errorf("nothing committed, yet the generations moved: %v, then %v", before, again)
	}
	for i, writer := range stores {
		d := digest.FromString(string(rune('a' + i)))
		if err := writer.AddBlob(t.Context(), "team/app", d, 1); err != nil {
			t.Fatal(err)
		}
		after := gens()
		for j := range after {
			if after[j] == before[j] {
				t.Errorf("store %d committed, yet store %d's generation stayed %d", i, j, after[j])
			}
		}
		before = after
	}
}

// writerChildEnv, set, makes the test binary a process that commits one
// blob to the SQLite database it names and exits, as the wharf CLI does
// beside a running server.
const writerChildEnv = "WHARF_TEST_METADATA_WRITER"

func writeAsAnotherProcess(path string) int {
	ctx := context.Background()
	s, err := metadata.Open(ctx, "sqlite", path, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	if err := s.AddBlob(ctx, "team/app", digest.FromString(os.Getenv(writerChildEnv+"_BLOB")), 1); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestChangeGenerationAcrossProcesses: commits by other processes that
// open the database, write and close it (the CLI beside `wharf serve`)
// move the generation, the second one too: the last connection of a
// process closing must not leave the watch reading a stale -shm file.
func TestChangeGenerationAcrossProcesses(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "wharf.db")
	s, err := metadata.Open(t.Context(), "sqlite", path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	gen := func() uint64 {
		t.Helper()
		g, ok, err := s.ChangeGeneration(t.Context())
		if err != nil || !ok {
			t.Fatalf("ChangeGeneration: %d, %v, %v", g, ok, err)
		}
		return g
	}
	last := gen()
	for i := range 3 {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), writerChildEnv+"="+path, fmt.Sprintf("%s_BLOB=blob %d", writerChildEnv, i))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("writer process %d: %v\n%s", i, err, out)
		}
		g := gen()
		if g == last {
			t.Fatalf("process %d committed and exited, yet the generation stayed %d", i, g)
		}
		last = g
		if _, err := s.RepoBlob(t.Context(), "team/app", digest.FromString(fmt.Sprintf("blob %d", i))); err != nil {
			t.Fatalf("blob %d of process %d not seen: %v", i, i, err)
		}
	}
}
