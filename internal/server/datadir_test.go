package server

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wharf/internal/config"
)

func TestCheckDataDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		dirMode        os.FileMode
		files          map[string]os.FileMode
		want, dontWant []string
	}{
		{"private", 0o700, map[string]os.FileMode{"auth/token.key": 0o600, "auth/token.crt": 0o644, "tls/ca.key": 0o600}, nil,
			[]string{"WARN"}},
		{"directory readable by all", 0o755, nil, []string{"level=WARN", "is open to group or others (mode 0755)", "run chmod 700 "}, nil},
		{"group-readable directory", 0o750, nil, []string{"(mode 0750)", "run chmod 700 "}, nil},
		{"loose keys", 0o700, map[string]os.FileMode{"auth/token.key": 0o644, "auth/token.crt": 0o644, "tls/ca.key": 0o640, "tls/ca.crt": 0o644, "acme/acme_account+key": 0o600},
			[]string{"run chmod 600 ", "auth/token.key", "tls/ca.key"}, []string{"token.crt", "ca.crt", "acme_account", "chmod 700"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			for name, mode := range tc.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("x"), mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, mode); err != nil { // past the umask
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			var logs strings.Builder
			checkDataDir(dir, slog.New(slog.NewTextHandler(&logs, nil)))
			for _, w := range tc.want {
				if !strings.Contains(logs.String(), strings.ReplaceAll(w, "chmod 700 ", "chmod 700 "+dir)) {
					t.Errorf("log lacks %q:\n%s", w, logs.String())
				}
			}
			for _, w := range tc.dontWant {
				if strings.Contains(logs.String(), w) {
					t.Errorf("log has %q:\n%s", w, logs.String())
				}
			}
		})
	}
}

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
	var logs syncBuffer
	s, err := New(t.Context(), cfg, slog.New(slog.NewTextHandler(&logs, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if want := "run chmod 700 " + cfg.Data; !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, logs.String())
	}
	for _, name := range []string{"wharf.db", "wharf.db-wal", "wharf.db-shm"} {
		fi, err := os.Stat(filepath.Join(cfg.Data, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", name, got)
		}
	}
}
