package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wharf/internal/testserver"
)

// installHint is appended to every "tool missing" failure so the reader
// knows the one command that fixes it (testserver's, shared by every test).
const installHint = testserver.InstallHint

// Main runs the tests of an end-to-end package and then removes the wharf
// binary built for it (and any left by earlier runs that crashed). Call it
// from TestMain.
func Main(m *testing.M) {
	removeStaleBuildDirs()
	code := m.Run()
	removeBuildDir()
	os.Exit(code)
}

// SkipIfShort skips an end-to-end test under `go test -short`. Every e2e test
// calls it first, so unit-test runs stay fast and the skip is visible.
func SkipIfShort(t testing.TB) {
	t.Helper()
	testserver.SkipIfShort(t)
}

// RequireTool returns the absolute path of an executable at one of the
// candidates (absolute paths) or found in PATH by name, failing the test if
// there is none.
func RequireTool(t testing.TB, name string, candidates ...string) string {
	t.Helper()
	return testserver.FindBinary(t, name, append(candidates, name)...)
}

// RequireFile fails the test if path is not a regular file.
func RequireFile(t testing.TB, path, what string) {
	t.Helper()
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("%s not found at %s: %s", what, path, installHint)
	}
}

// RepoRoot returns the directory of the wharf module (the go.mod that says
// `module wharf`), searching upwards from the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := findRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("harness: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modulePath(data) == "wharf" {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("harness: no go.mod for module wharf above the working directory")
		}
		dir = parent
	}
}

func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// ConformanceBinary locates the OCI distribution-spec conformance binary:
// $WHARF_CONFORMANCE_BIN, else <repo>/bin/conformance (installed by make deps).
func ConformanceBinary(t testing.TB) string {
	t.Helper()
	p := os.Getenv("WHARF_CONFORMANCE_BIN")
	if p == "" {
		p = filepath.Join(RepoRoot(t), "bin", "conformance")
	}
	if !isExecutable(p) {
		t.Fatalf("OCI conformance binary not found at %s (set WHARF_CONFORMANCE_BIN to override): %s", p, installHint)
	}
	return p
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// tail returns the last n lines of the file at path, for failure messages.
func tail(path string, n int) string { return testserver.Tail(path, n) }
