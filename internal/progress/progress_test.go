package progress

import (
	"strings"
	"testing"
	"time"

	"wharf/internal/testserver"
)

func TestLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		terminal bool
		want     []string
		notWant  string
	}{
		// A log gets plain lines: the milestone with the counters after
		// it, the note on its own, no escape sequences.
		{"log", false, []string{"fsck: repository a done\nfsck: done 1\n", "a note\n"}, "\x1b"},
		// A terminal gets the line redrawn in place, cleared before a note
		// and ended by Finish.
		{"terminal", true, []string{"\r\x1b[Kchecking: done 1", "\r\x1b[Ka note\n"}, "fsck: repository a done"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out testserver.SyncBuffer
			p := New(&out, tc.terminal, time.Hour, "fsck", "checking")
			done := 0
			p.Start(func() string { return "done " + string(rune('0'+done)) })
			p.Milestone(func() { done++ }, "repository a done")
			if tc.terminal {
				p.Update(func() {})
				deadline := time.Now().Add(10 * time.Second)
				for !strings.Contains(out.String(), "checking: done 1") && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
			}
			p.Note("a note")
			p.Finish()
			got := out.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output %q lacks %q", got, w)
				}
			}
			if strings.Contains(got, tc.notWant) {
				t.Errorf("output %q has %q", got, tc.notWant)
			}
			if tc.terminal && !strings.HasSuffix(got, "\n") {
				t.Errorf("Finish left the line unended: %q", got)
			}
		})
	}
}

func TestBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 64 << 20: "64.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
