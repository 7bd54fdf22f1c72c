package harness

import (
	"os"
	"path/filepath"
	"strings"
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

func TestRequestIDProblems(t *testing.T) {
	t.Parallel()
	log := `time=T level=WARN msg="TLS IS OFF (tls: off): passwords cross in clear"
time=T level=INFO msg="wharf is serving" addr=127.0.0.1:5000
time=T level=WARN msg="login rate-limited" component=tokenserver request_id=aaaa account=bob
time=T level=INFO msg=request request_id=aaaa method=GET path=/auth/token status=429
time=T level=ERROR msg="purging stale uploads failed" err="database is locked"
time=T level=ERROR msg="request failed" component=ociapi request_id=bbbb err="disk \"full\""
time=T level=WARN msg="token rejected" reason=expired
time=T level=INFO msg=request request_id=cccc method=GET path=/v2/ status=401
`
	withID, problems := RequestIDProblems(log)
	want := []string{
		`ERROR "request failed" has request_id bbbb, which no access line has`,
		`WARN "token rejected" has no request_id`,
	}
	if withID != 1 || strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("RequestIDProblems = %d, %q; want 1, %q", withID, problems, want)
	}
	if l := ParseLog(log)[5]; l["err"] != `disk "full"` || l["component"] != "ociapi" {
		t.Errorf("parsed %v", l)
	}
}
