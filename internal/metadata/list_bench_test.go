package metadata

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

// BenchmarkListTags reads a 1000-tag page of a 10,000-tag repository: as
// ListTags serves it (the kept list), and from the database as one
// aggregated row (SQLite's joinLines) and row by row.
func BenchmarkListTags(b *testing.B) {
	s, err := Open(b.Context(), "sqlite", filepath.Join(b.TempDir(), "wharf.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	payload := []byte(`{"schemaVersion":2}`)
	m := &Manifest{Repo: "repo", Digest: digest.FromBytes(payload), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: int64(len(payload)), Payload: payload}
	tags := make([]string, 10000)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%06d", i)
	}
	if err := s.PutManifest(b.Context(), m, tags); err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			got, err := s.ListTags(b.Context(), "repo", "t004000", 1000)
			if err != nil || len(got) != 1000 || got[0] != "t004001" {
				b.Fatalf("ListTags: %d tags, %v", len(got), err)
			}
		}
	})
	for _, mode := range []string{"joined", "rows"} {
		b.Run("database-"+mode, func(b *testing.B) {
			d := *s.d
			if mode == "rows" {
				d.joinLines = nil
			}
			s2 := *s
			s2.d = &d
			for b.Loop() {
				got, err := s2.readTags(b.Context(), s2.read(), 1, "t004000", 1000)
				if err != nil || len(got) != 1000 || got[0] != "t004001" {
					b.Fatalf("readTags: %d tags, %v", len(got), err)
				}
			}
		})
	}
}
