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
)

// BenchmarkRecordPull is what a pull costs its request with the audit log
// on (Record: the record queued) and what it costs the writer (a batch
// taken, folded, formatted; the store here keeps nothing), so that the
// database's share is apart:
//
//	go test -run '^$' -bench RecordPull -cpu 1 ./internal/audit/
func BenchmarkRecordPull(b *testing.B) {
	l, err := New(Options{Store: discard{}, Log: slog.New(slog.DiscardHandler), Every: time.Hour, Pulls: PullsManifests, Queue: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	e := events.Event{Action: events.Pull, Repository: "team/app", Digest: digest.FromString("m"), Tag: "v1",
		MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 1234, Actor: "alice", Addr: netip.MustParseAddr("10.0.0.1"),
		RequestID: "0123456789abcdef", UserAgent: "docker/27.3.1 go/go1.22.7 git-commit/41ca978 kernel/6.8.0 os/linux arch/amd64"}
	b.Run("request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ev := e
			ev.Time = time.Now()
			l.Record(&ev)
		}
	})
	b.Run("writer", func(b *testing.B) {
		b.ReportAllocs()
		var batch []metadata.AuditRecord
		for b.Loop() {
			b.StopTimer()
			for range 500 {
				ev := e
				l.Record(&ev)
			}
			b.StartTimer()
			batch = l.flush(batch)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/record")
	})
	_ = l.Close(b.Context())
}

// discard is a Store that keeps nothing.
type discard struct{}

func (discard) InsertAudit(context.Context, []metadata.AuditRecord) error { return nil }

func (discard) DeleteAuditBefore(context.Context, time.Time, int) (int, error) { return 0, nil }
