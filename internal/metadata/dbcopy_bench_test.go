package metadata_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"wharf/internal/metadata"
)

// BenchmarkCopyAll copies an SQLite database of 20,000 audit records and
// 2,000 users (22,000 rows, plus the seeded ones) into a new SQLite file,
// a PostgreSQL and a MariaDB database, and reports rows per second:
//
//	go test -run x -bench CopyAll -benchtime 3x ./internal/metadata/
func BenchmarkCopyAll(b *testing.B) {
	ctx := b.Context()
	src, err := metadata.Open(ctx, "sqlite", filepath.Join(b.TempDir(), "source.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	recs := make([]metadata.AuditRecord, 20000)
	for i := range recs {
		recs[i] = metadata.AuditRecord{Time: time.Unix(int64(i), 0), Action: "pull", Actor: fmt.Sprintf("user%d", i%50),
			Outcome: "ok", Repository: fmt.Sprintf("team/app%d", i%100)}
	}
	if err := src.InsertAudit(ctx, recs); err != nil {
		b.Fatal(err)
	}
	for i := range 2000 {
		if err := src.CreateUser(ctx, metadata.User{Name: fmt.Sprintf("user%04d", i), PasswordHash: "$2y$04$hash"}); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		dsn  func(b *testing.B) (string, string)
	}{
		{"sqlite", func(b *testing.B) (string, string) { return "sqlite", filepath.Join(b.TempDir(), "copy.db") }},
		{"postgres", func(b *testing.B) (string, string) { return "postgres", servers.Postgres(b).NewDatabase(b) }},
		{"mariadb", func(b *testing.B) (string, string) { return "mysql", servers.MariaDB(b).NewDatabase(b) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var rows int64
			for b.Loop() {
				b.StopTimer()
				driver, dsn := tc.dsn(b)
				dst, err := metadata.Open(ctx, driver, dsn, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				rep, err := metadata.CopyAll(ctx, src, dst, metadata.CopyOptions{})
				if err != nil {
					b.Fatal(err)
				}
				rows = rep.Rows
				b.StopTimer()
				dst.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
