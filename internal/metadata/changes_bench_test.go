package metadata_test

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// BenchmarkChangeGeneration compares what a cached manifest or blob read
// costs on SQLite (the PRAGMA data_version of ChangeGeneration) with the
// one-row read of the repository's version and with the blob link read
// it saves.
func BenchmarkChangeGeneration(b *testing.B) {
	s, err := metadata.Open(b.Context(), "sqlite", filepath.Join(b.TempDir(), "wharf.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	d := digest.FromString("layer")
	if err := s.AddBlob(b.Context(), "team/app", d, 5); err != nil {
		b.Fatal(err)
	}
	b.Run("ChangeGeneration", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := s.ChangeGeneration(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RepositoryVersion", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.RepositoryVersion(b.Context(), "team/app"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RepoBlob", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.RepoBlob(b.Context(), "team/app", d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
