package ociapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/audit"
	"wharf/internal/events"
	"wharf/internal/metadata"
	"wharf/internal/ociapi"
	"wharf/internal/registry"
	"wharf/internal/storage/memory"
	"wharf/internal/testserver"
)

// BenchmarkManifestGetAudit is the manifest GET path by tag, with no event
// sink and with the audit log recording every pull into the same SQLite
// database (batched by its writer, as wharf serve runs it), and with a sink
// that does nothing (what building the events costs, for any sink): one client
// pulling in a loop (its pulls fold into one row a batch), and every pull
// from another address (one row each). The time includes writing the last
// records at Close; cpu-ns/op is the process's CPU time (user and system)
// per pull, steadier than the wall time on a busy machine:
//
//	go test -run '^$' -bench ManifestGetAudit -benchtime 20000x -count 6 -cpu 1 ./internal/ociapi/
func BenchmarkManifestGetAudit(b *testing.B) {
	for _, tc := range []struct {
		name               string
		noop, audit, addrs bool
	}{{"off", false, false, false}, {"noop-sink", true, false, false}, {"audit-one-client", false, true, false}, {"audit-many-clients", false, true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			meta, err := metadata.Open(b.Context(), "sqlite", filepath.Join(b.TempDir(), "wharf.db"), log)
			if err != nil {
				b.Fatal(err)
			}
			defer meta.Close()
			var sink events.Sink
			var l *audit.Log
			if tc.noop {
				sink = events.SinkFunc(func(*events.Event) {})
			}
			if tc.audit {
				if l, err = audit.New(audit.Options{Store: meta, Log: log, Pulls: audit.PullsManifests}); err != nil {
					b.Fatal(err)
				}
				sink = l
			}
			reg := registry.New(memory.New(), meta, log, registry.Options{})
			h := ociapi.New(reg, log, namedAccount("alice"), ociapi.Options{Events: events.Join(sink)})
			var clients atomic.Uint32
			serve := func(method, target string, body []byte) int {
				req := httptest.NewRequestWithContext(context.Background(), method, target, bytes.NewReader(body))
				if tc.addrs {
					n := clients.Add(1)
					req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:40000", byte(n>>16), byte(n>>8), byte(n))
				}
				req.Header.Set("Accept", ociManifest)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				return w.Code
			}
			config, layer := []byte(`{"architecture":"amd64"}`), []byte("layer bytes")
			for _, c := range [][]byte{config, layer} {
				if code := serve("POST", "/v2/team/app/blobs/uploads/?digest="+digest.FromBytes(c).String(), c); code != http.StatusCreated {
					b.Fatalf("blob push: %d", code)
				}
			}
			m := imageManifest(digest.FromBytes(config), digest.FromBytes(layer), len(config), len(layer))
			req := httptest.NewRequestWithContext(context.Background(), "PUT", "/v2/team/app/manifests/v1", bytes.NewReader(m))
			req.Header.Set("Content-Type", ociManifest)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusCreated {
				b.Fatalf("manifest push: %d %s", w.Code, w.Body)
			}
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if code := serve("GET", "/v2/team/app/manifests/v1", nil); code != http.StatusOK {
						b.Errorf("manifest GET: %d", code)
						return
					}
				}
			})
			if l != nil {
				if err := l.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
			if l != nil {
				b.ReportMetric(float64(l.Written())/float64(b.N), "rows/op")
				b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
			}
		})
	}
}

func cpuTime(b *testing.B) int64 { return int64(testserver.CPUTime(b)) }
