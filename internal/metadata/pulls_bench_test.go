package metadata

import (
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

// BenchmarkRecordPull is what recording a pull adds to a manifest GET: a
// map update under a mutex, from parallel goroutines pulling the same
// manifest (the common case: one popular image).
func BenchmarkRecordPull(b *testing.B) {
	s, err := Open(b.Context(), "sqlite", filepath.Join(b.TempDir(), "wharf.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	d := digest.FromString("manifest")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.RecordPull("team/app", "latest", d)
		}
	})
}
