package harness

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindServingAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, log, want string
	}{
		{"slog text", `time=2026-01-01T00:00:00Z level=INFO msg="wharf is serving" addr=127.0.0.1:41234 tls=off` + "\n", "127.0.0.1:41234"},
		{"quoted addr", `level=INFO msg="wharf is serving" addr="127.0.0.1:5000"` + "\n", "127.0.0.1:5000"},
		{"after other lines", "level=WARN msg=\"auth is off\" listen=127.0.0.1:0\nlevel=INFO msg=\"wharf is serving\" addr=[::1]:9\n", "[::1]:9"},
		{"other addr keys ignored", `level=INFO msg="wharf is serving" metrics_addr=127.0.0.1:1 addr=127.0.0.1:2` + "\n", "127.0.0.1:2"},
		{"not serving yet", `level=INFO msg="opening database" addr=127.0.0.1:0` + "\n", ""},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "log")
			if err := os.WriteFile(p, []byte(tc.log), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := findServingAddr(p); got != tc.want {
				t.Errorf("findServingAddr = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestModulePath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"module wharf\n\ngo 1.26\n":   "wharf",
		"// c\nmodule \"wharf\"\n":    "wharf",
		"module wharf/other\n":        "wharf/other",
		"go 1.26\nrequire x v1.0.0\n": "",
	} {
		if got := modulePath([]byte(in)); got != want {
			t.Errorf("modulePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProcStatusKiB(t *testing.T) {
	t.Parallel()
	kb, err := ProcStatusKiB(os.Getpid(), "VmRSS")
	if err != nil || kb <= 0 {
		t.Fatalf("ProcStatusKiB(self, VmRSS) = %d, %v", kb, err)
	}
	if _, err := ProcStatusKiB(os.Getpid(), "NoSuchField"); err == nil {
		t.Error("want an error for a missing field")
	}
}
