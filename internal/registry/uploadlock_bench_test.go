package registry

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"testing"

	"wharf/internal/metadata"
	"wharf/internal/storage/memory"
	"wharf/internal/testserver"
)

// BenchmarkUploadChunk is the cost of one 64 KiB PATCH with the upload's
// lock in this process only (one server) and with its lease in the
// database (replicas), on SQLite and PostgreSQL:
//
//	go test -run '^$' -bench UploadChunk -benchtime 2s ./internal/registry/
func BenchmarkUploadChunk(b *testing.B) {
	log := slog.New(slog.DiscardHandler)
	open := map[string]func(b *testing.B) *metadata.Store{
		"sqlite": func(b *testing.B) *metadata.Store {
			m, err := metadata.Open(b.Context(), "sqlite", filepath.Join(b.TempDir(), "wharf.db"), log)
			if err != nil {
				b.Fatal(err)
			}
			return m
		},
		"postgres": func(b *testing.B) *metadata.Store {
			pg := testserver.StartPostgres(b)
			m, err := metadata.Open(b.Context(), "postgres", pg.DSN, log)
			if err != nil {
				b.Fatal(err)
			}
			return m
		},
	}
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			meta := open[db](b)
			b.Cleanup(func() { meta.Close() })
			for _, replicas := range []bool{false, true} {
				name := "mutex"
				if replicas {
					name = "lease"
				}
				b.Run(name, func(b *testing.B) {
					r := New(memory.New(), meta, log, Options{Replicas: replicas})
					u, err := r.StartUpload(b.Context(), "app")
					if err != nil {
						b.Fatal(err)
					}
					b.SetBytes(int64(len(chunk)))
					off := int64(0)
					for b.Loop() {
						if _, err := r.AppendUpload(b.Context(), "app", u.ID, off, int64(len(chunk)), bytes.NewReader(chunk)); err != nil {
							b.Fatal(err)
						}
						off += int64(len(chunk))
					}
				})
			}
		})
	}
}
