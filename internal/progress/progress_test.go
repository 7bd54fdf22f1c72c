package progress

import (
	"strings"
	"testing"
	"time"

	"wharf/internal/testserver"
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
			var out testserver.SyncBuffer
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

// TestNoteClearsTheLine: a note on a terminal first clears the counter line,
// so the two never share a line.
func TestNoteClearsTheLine(t *testing.T) {
	t.Parallel()
	var out testserver.SyncBuffer
	l := Start(&out, true, 0, "gc", func() string { return "3 done" })
	l.Draw()
	l.Note("a note")
	l.Finish()
	want := "\r\x1b[Kgc: 3 done\r\x1b[Ka note\n"
	if got := out.String(); !strings.HasPrefix(got, want) {
		t.Errorf("output %q does not start with %q", got, want)
	}
}
