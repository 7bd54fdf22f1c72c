package metadata_test

import (
	"log/slog"
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
