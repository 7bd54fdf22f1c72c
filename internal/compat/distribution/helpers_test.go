package distribution

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/config"
)

// writeConfig writes body as config.yml in a fresh directory.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// logBuffer is a text log that tests can search.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the log lines at level ("INFO", "WARN") containing every
// one of subs.
func (b *logBuffer) lines(level string, subs ...string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if !strings.Contains(l, "level="+level) {
			continue
		}
		all := true
		for _, s := range subs {
			all = all && strings.Contains(l, s)
		}
		if all {
			out = append(out, l)
		}
	}
	return out
}

func newLog() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// registryBase is what a minimal file (version and a filesystem root)
// translates to: distribution's defaults where they differ from wharf
// serve's.
func registryBase() config.Config {
	c := config.Default()
	c.Role = config.RoleRegistry
	c.Auth = "none"
	c.TLS = "off"
	c.Data = "/var/lib/registry"
	c.Token = config.Token{Expiration: config.Duration(5 * time.Minute)}
	c.Storage.Delete = false
	c.GC.UploadsGrace = config.Duration(168 * time.Hour)
	return c
}

// checkErr asserts err wraps is (when given) and mentions every one of subs.
func checkErr(t *testing.T, err error, is error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", subs)
	}
	if is != nil && !errors.Is(err, is) {
		t.Errorf("error does not wrap %v:\n%v", is, err)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not mention %q:\n%v", s, err)
		}
	}
}

func diffConfig(t *testing.T, want, got config.Config) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
}
