package audit

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/events"
	"wharf/internal/metadata"
	"wharf/internal/testserver"
)

// BenchmarkRecordPull is what a pull costs its request with the audit log
// on (request: the record queued, the queue emptied every batch as the
// writer does, off the clock) and what it costs the writer (a batch taken,
// folded, formatted; the store here keeps nothing, so that the database's
// share is apart: see metadata's BenchmarkInsertAudit): one client pulling
// in a loop (its pulls fold), and every pull from another address (each a
// row):
//
//	go test -run '^$' -bench RecordPull -benchmem -cpu 1 ./internal/audit/
func BenchmarkRecordPull(b *testing.B) {
	e := events.Event{Action: events.Pull, Repository: "team/app", Digest: digest.FromString("m"), Tag: "v1",
		MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 1234, Actor: "alice", Addr: netip.MustParseAddr("10.0.0.1"),
		RequestID: "0123456789abcdef", UserAgent: "docker/27.3.1 go/go1.22.7 git-commit/41ca978 kernel/6.8.0 os/linux arch/amd64"}
	open := func(b *testing.B) *Log {
		l, err := New(Options{Store: discard{}, Log: slog.New(slog.DiscardHandler), Every: time.Hour, Pulls: PullsManifests})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = l.Close(context.Background()) })
		return l
	}
	b.Run("request", func(b *testing.B) {
		l := open(b)
		b.ReportAllocs()
		n := 0
		cpu0 := cpuTime(b)
		for b.Loop() {
			ev := e
			ev.Time = time.Now()
			l.Record(&ev)
			if n++; n == DefaultBatch {
				b.StopTimer()
				l.mu.Lock()
				l.taken = l.q.take(l.taken[:0], DefaultBatch)
				clear(l.taken)
				l.mu.Unlock()
				n = 0
				b.StartTimer()
			}
		}
		b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
	})
	for _, tc := range []struct {
		name  string
		addrs bool
	}{{"writer-one-client", false}, {"writer-many-clients", true}} {
		b.Run(tc.name, func(b *testing.B) {
			l := open(b)
			b.ReportAllocs()
			var batch []metadata.AuditRecord
			var n uint32
			var cpu int64
			for b.Loop() {
				b.StopTimer()
				for range DefaultBatch {
					ev := e
					if tc.addrs {
						n++
						ev.Addr = netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
					}
					l.Record(&ev)
				}
				cpu0 := cpuTime(b)
				b.StartTimer()
				batch = l.flush(batch)
				b.StopTimer()
				cpu += cpuTime(b) - cpu0
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*DefaultBatch), "ns/record")
			b.ReportMetric(float64(cpu)/float64(b.N*DefaultBatch), "cpu-ns/record")
			b.ReportMetric(float64(l.Written())/float64(b.N*DefaultBatch), "rows/record")
		})
	}
}

func cpuTime(b *testing.B) int64 { return int64(testserver.CPUTime(b)) }

// discard is a Store that keeps nothing.
type discard struct{}

func (discard) InsertAudit(context.Context, []metadata.AuditRecord) error { return nil }

func (discard) DeleteAuditBefore(context.Context, time.Time, int) (int, error) { return 0, nil }
