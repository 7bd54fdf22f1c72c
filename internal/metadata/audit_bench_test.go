package metadata_test

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"wharf/internal/metadata"
	"wharf/internal/testserver"
)

// BenchmarkInsertAudit is the audit writer's cost per row: batches of
// distinct pulls (another address each, a docker user agent in the detail,
// as the audit log writes them) into each database, 500 rows (a batch of no
// power of two) and 512. cpu-ns/row is this process's CPU time (user and
// system) per row, steadier than the wall time on a busy machine; on
// PostgreSQL and MariaDB the server's own work is not in it:
//
//	go test -run '^$' -bench InsertAudit -benchtime 40x -cpu 1 ./internal/metadata/
func BenchmarkInsertAudit(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(b *testing.B) *metadata.Store
	}{
		{"sqlite", func(b *testing.B) *metadata.Store {
			return openBench(b, "sqlite", filepath.Join(b.TempDir(), "wharf.db"))
		}},
		{"postgres", func(b *testing.B) *metadata.Store {
			return openBench(b, "postgres", servers.Postgres(b).NewDatabase(b))
		}},
		{"mariadb", func(b *testing.B) *metadata.Store { return openBench(b, "mysql", servers.MariaDB(b).NewDatabase(b)) }},
	} {
		for _, rows := range []int{500, 512} {
			b.Run(fmt.Sprintf("%s/%d", db.name, rows), func(b *testing.B) {
				s := db.open(b)
				batch := make([]metadata.AuditRecord, rows)
				t0, n := time.Now(), 0
				fill := func() {
					for i := range batch {
						n++
						batch[i] = metadata.AuditRecord{Time: t0.Add(time.Duration(n)), Action: "pull", Actor: "alice", Source: "registry",
							Addr: fmt.Sprintf("10.%d.%d.%d", byte(n>>16), byte(n>>8), byte(n)), RequestID: fmt.Sprintf("%016x", n),
							Repository: "team/app", Target: "v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
							Outcome: "ok", Detail: `{"media_type":"application/vnd.oci.image.manifest.v1+json","user_agent":"docker/27.3.1 go/go1.22.7 git-commit/41ca978 kernel/6.8.0 os/linux arch/amd64","size":1234}`}
					}
				}
				b.ReportAllocs()
				var cpu int64
				for b.Loop() {
					b.StopTimer()
					fill()
					c0 := cpuTime(b)
					b.StartTimer()
					if err := s.InsertAudit(b.Context(), batch); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					cpu += cpuTime(b) - c0
					b.StartTimer()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
				b.ReportMetric(float64(cpu)/float64(b.N*rows), "cpu-ns/row")
			})
		}
	}
}

func openBench(b *testing.B, driver, dsn string) *metadata.Store {
	b.Helper()
	s, err := metadata.Open(b.Context(), driver, dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatalf("Open(%s): %v", driver, err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func cpuTime(b *testing.B) int64 { return int64(testserver.CPUTime(b)) }
