package progress

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536 * 1024, "1.5 MiB"}, {5 << 30, "5.0 GiB"}} {
		if got := Bytes(tc.n); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// lockedBuilder is a strings.Builder the drawing goroutine may write to.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedBuilder) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuilder) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		terminal bool
		want     string
	}{
		{"terminal redraws in place and ends the line", true, "\r\x1b[Kgc: 3 done\n"},
		{"log gets plain lines", false, "gc: 3 done\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out lockedBuilder
			l := Start(&out, tc.terminal, time.Millisecond, "gc", func() string { return "3 done" })
			// The log variant draws every millisecond: wait for one line.
			for !tc.terminal && out.String() == "" {
				time.Sleep(time.Millisecond)
			}
			l.Finish()
			if got := out.String(); !strings.HasSuffix(got, tc.want) {
				t.Errorf("output %q does not end with %q", got, tc.want)
			}
		})
	}
}
