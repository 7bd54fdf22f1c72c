package server

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"

	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/testserver"
)

// servers are the database servers this package's tests share.
var servers testserver.Shared

func TestMain(m *testing.M) { os.Exit(servers.Run(m)) }

// TestNewDataDirModes starts the server of `wharf serve` in a data
// directory made beforehand with mode 0755: it warns with the fix, and
// creates wharf.db and its -wal and -shm files 0600.
func TestNewDataDirModes(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	if err := os.Chmod(cfg.Data, 0o755); err != nil {
		t.Fatal(err)
	}
	var logs testserver.SyncBuffer
	s, err := New(t.Context(), cfg, slog.New(slog.NewTextHandler(&logs, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if want := "run chmod 700 " + cfg.Data; !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, logs.String())
	}
	db := datadir.New(cfg.Data).Database()
	for _, name := range []string{db, db + "-wal", db + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", name, got)
		}
	}
}

// TestDataDirLock: a second `wharf serve` in the same process or another
// on a data directory whose SQLite database a running one uses is refused,
// naming the process and the fix; once the first is closed, it starts.
// `wharf registry` and servers sharing a PostgreSQL database take no lock:
// replicas share the data directory by design.
func TestDataDirLock(t *testing.T) {
	t.Parallel()
	start := func(cfg config.Config) (*Server, error) {
		t.Helper()
		s, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler), io.Discard)
		if err == nil {
			t.Cleanup(func() { s.Close() })
		}
		return s, err
	}
	cfg := config.Default()
	cfg.Data = t.TempDir()
	first, err := start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = start(cfg)
	if !errors.Is(err, datadir.ErrInUse) {
		t.Fatalf("a second server on %s: %v; want datadir.ErrInUse", cfg.Data, err)
	}
	for _, want := range []string{"process " + strconv.Itoa(os.Getpid()), datadir.New(cfg.Data).LockFile(), "stop that one first", "--data"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q: %v", want, err)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := start(cfg); err != nil {
		t.Fatalf("a server after the first closed: %v", err)
	}

	t.Run("wharf registry", func(t *testing.T) {
		t.Parallel()
		reg := config.Default()
		reg.Role, reg.Auth, reg.Data = config.RoleRegistry, "none", t.TempDir()
		for i := range 2 {
			if _, err := start(reg); err != nil {
				t.Fatalf("registry %d: %v", i+1, err)
			}
		}
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pg := config.Default()
		pg.Data = t.TempDir()
		pg.Database = config.Database{Driver: config.DriverPostgres, DSN: servers.Postgres(t).NewDatabase(t)}
		for i := range 2 {
			if _, err := start(pg); err != nil {
				t.Fatalf("replica %d: %v", i+1, err)
			}
		}
	})
}
