package metadatatest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"wharf/internal/metadata"
)

// RunServer runs the checks that concern a database server several wharf
// processes share (PostgreSQL, MySQL): replicas that start together migrate
// the database once, and a restart finds everything. newDSN returns the DSN
// of a fresh, empty database for driver.
func RunServer(t *testing.T, driver string, newDSN func(t *testing.T) string) {
	t.Helper()
	t.Run("ConcurrentOpen", func(t *testing.T) {
		t.Parallel()
		testConcurrentOpen(t, driver, newDSN)
	})
	t.Run("Reopen", func(t *testing.T) {
		t.Parallel()
		testReopen(t, driver, newDSN(t))
	})
}

// migrationCounter is a slog handler counting "applied schema migration".
type migrationCounter struct{ n *atomic.Int64 }

func (h migrationCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h migrationCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "applied schema migration" {
		h.n.Add(1)
	}
	return nil
}
func (h migrationCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h migrationCounter) WithGroup(string) slog.Handler      { return h }

// open opens dsn, failing t on error, and closes the store at cleanup.
func open(t *testing.T, driver, dsn string, log *slog.Logger) *metadata.Store {
	t.Helper()
	s, err := metadata.Open(t.Context(), driver, dsn, log)
	if err != nil {
		t.Fatalf("Open(%s): %v", driver, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func testConcurrentOpen(t *testing.T, driver string, newDSN func(t *testing.T) string) {
	// How many migrations a fresh database gets.
	var alone atomic.Int64
	first := open(t, driver, newDSN(t), slog.New(migrationCounter{&alone}))
	latest, err := first.SchemaVersion(t.Context())
	if err != nil || alone.Load() == 0 || latest <= 0 {
		t.Fatalf("a fresh database: %d migrations applied, schema version %d, %v; want some", alone.Load(), latest, err)
	}

	// Replicas starting together on another fresh database.
	dsn := newDSN(t)
	var applied atomic.Int64
	log := slog.New(migrationCounter{&applied})
	stores := make([]*metadata.Store, writers)
	var mu sync.Mutex
	noErrors(t, "Open", race(func(i int) error {
		s, err := metadata.Open(t.Context(), driver, dsn, log)
		if err != nil {
			return err
		}
		mu.Lock()
		stores[i] = s
		mu.Unlock()
		return nil
	}))
	for _, s := range stores {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
	}
	if t.Failed() {
		return
	}
	if applied.Load() != alone.Load() {
		t.Errorf("%d replicas opening at once applied %d migrations, want %d (each once)", writers, applied.Load(), alone.Load())
	}
	// Every replica works on the one schema.
	noErrors(t, "push from every replica", race(func(i int) error {
		v, err := stores[i].SchemaVersion(t.Context())
		if err != nil || v != latest {
			return fmt.Errorf("schema version %d, %v; want %d", v, err, latest)
		}
		return stores[i].PutManifest(t.Context(), image("app", fmt.Sprintf("image %d", i)), []string{fmt.Sprintf("v%02d", i)})
	}))
	tags, err := stores[0].ListTags(t.Context(), "app", "", 0)
	if err != nil || len(tags) != writers {
		t.Errorf("ListTags = %q, %v; want %d tags", tags, err, writers)
	}
}

func testReopen(t *testing.T, driver, dsn string) {
	ctx := t.Context()
	s, err := metadata.Open(ctx, driver, dsn, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	m := pushImage(t, s, "app", "img", "v1")
	if err := s.CreateUpload(ctx, &metadata.Upload{ID: "u1", Repo: "app", Algorithm: "sha256", HashState: []byte{0, 1, 2}}); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	var applied atomic.Int64
	s = open(t, driver, dsn, slog.New(migrationCounter{&applied}))
	if n := applied.Load(); n != 0 {
		t.Errorf("reopening an up-to-date database applied %d migrations", n)
	}
	wantManifest(t, s, m)
	wantResolve(t, s, "app", "v1", m.Digest)
	u, err := s.GetUpload(ctx, "app", "u1")
	if err != nil || string(u.HashState) != "\x00\x01\x02" {
		t.Errorf("GetUpload after reopen = %+v, %v", u, err)
	}
}
