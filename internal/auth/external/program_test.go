package external_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"wharf/internal/auth/external"
	"wharf/internal/auth/external/externaltest"
)

// script writes an executable shell script into a temporary directory.
func script(t *testing.T, body string) string {
	t.Helper()
	return externaltest.Script(t, "prog.sh", body)
}

func program(t *testing.T, cfg external.ProgramConfig) *external.Program {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	p, err := external.NewProgram(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunExitCodesAndOutput(t *testing.T) {
	t.Parallel()
	p := program(t, external.ProgramConfig{Command: script(t, `read line; echo "out:$line:$1"; echo err >&2; exit "$2"`), Args: []string{"a b", "7"}})
	res, err := p.Run(context.Background(), []byte("hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 7 || string(res.Stdout) != "out:hello:a b\n" || string(res.Stderr) != "err\n" {
		t.Fatalf("got %d, %q, %q", res.ExitCode, res.Stdout, res.Stderr)
	}
}

func TestStdinIsClosed(t *testing.T) {
	t.Parallel()
	// cat ends only when stdin is closed.
	p := program(t, external.ProgramConfig{Command: script(t, `cat`)})
	res, err := p.Run(context.Background(), []byte("no newline"))
	if err != nil || string(res.Stdout) != "no newline" {
		t.Fatalf("%q, %v", res.Stdout, err)
	}
}

func TestCommandLookup(t *testing.T) {
	t.Parallel()
	if _, err := external.NewProgram(external.ProgramConfig{Command: "true", Timeout: time.Second}); err != nil {
		t.Errorf("a command in PATH: %v", err)
	}
	for _, bad := range []string{"/nonexistent/prog", "no-such-program-in-path", t.TempDir()} {
		if _, err := external.NewProgram(external.ProgramConfig{Command: bad, Timeout: time.Second}); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	notExec := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := external.NewProgram(external.ProgramConfig{Command: notExec, Timeout: time.Second}); err == nil {
		t.Error("a file that is not executable was accepted")
	}
}

func TestMinimalEnvironment(t *testing.T) {
	t.Setenv("WHARF_ADMIN_PASSWORD", "top-secret")
	t.Setenv("EXTCMD_TEST_PASSED", "yes")
	p := program(t, external.ProgramConfig{Command: script(t, `env`), Env: []string{"EXTCMD_TEST_PASSED"}})
	res, err := p.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.Stdout)
	if strings.Contains(out, "top-secret") || strings.Contains(out, "WHARF_") {
		t.Errorf("wharf's environment leaked to the program:\n%s", out)
	}
	if !strings.Contains(out, "EXTCMD_TEST_PASSED=yes") || !strings.Contains(out, "PATH=") {
		t.Errorf("configured variables or PATH missing:\n%s", out)
	}
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// waitGone waits (boundedly) for the kernel to finish killing pid.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d survived the kill of its group", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the script did not record its child: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	// The grandchild holds stdout open and ignores the timeout; only a
	// kill of the whole group ends it.
	p := program(t, external.ProgramConfig{
		Command: script(t, `sleep 1000 & echo $! > "$1"; wait`),
		Args:    []string{pidFile},
		Timeout: 500 * time.Millisecond,
	})
	_, err := p.Run(context.Background(), nil)
	if !errors.Is(err, external.ErrTimeout) {
		t.Fatalf("Run = %v; want ErrTimeout", err)
	}
	waitGone(t, readPID(t, pidFile))
}

func TestLeftoverChildIsKilled(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	// The script exits at once; its background child would live on (and
	// hold stdout) if the group were not killed.
	p := program(t, external.ProgramConfig{Command: script(t, `sleep 1000 & echo $! > "$1"; exit 0`), Args: []string{pidFile}})
	_, err := p.Run(context.Background(), nil)
	if err == nil {
		t.Error("a program whose child kept its stdout open gave a result")
	}
	waitGone(t, readPID(t, pidFile))

	// Detached from stdout, a background child is no error, but is killed.
	pidFile2 := filepath.Join(t.TempDir(), "child.pid")
	p = program(t, external.ProgramConfig{Command: script(t, `sleep 1000 >/dev/null 2>&1 & echo $! > "$1"; exit 0`), Args: []string{pidFile2}})
	if _, err := p.Run(context.Background(), nil); err != nil {
		t.Errorf("Run: %v", err)
	}
	waitGone(t, readPID(t, pidFile2))
}

func TestOutputIsBounded(t *testing.T) {
	t.Parallel()
	p := program(t, external.ProgramConfig{Command: script(t, `head -c 50000000 /dev/zero; head -c 50000000 /dev/zero >&2; exit 0`), MaxStdout: 1000})
	res, err := p.Run(context.Background(), nil)
	if !errors.Is(err, external.ErrOutputTooLarge) {
		t.Fatalf("Run = %v; want ErrOutputTooLarge", err)
	}
	if len(res.Stdout) > 1000 || len(res.Stderr) > 4096 {
		t.Errorf("kept %d bytes of stdout and %d of stderr", len(res.Stdout), len(res.Stderr))
	}
}

func TestKilledBySignalIsAnError(t *testing.T) {
	t.Parallel()
	p := program(t, external.ProgramConfig{Command: script(t, `kill -9 $$`)})
	if _, err := p.Run(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "signal") {
		t.Fatalf("Run = %v; want an error naming the signal", err)
	}
}

func TestContextCanceled(t *testing.T) {
	t.Parallel()
	p := program(t, external.ProgramConfig{Command: script(t, `sleep 1000`)})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	if _, err := p.Run(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v; want context.Canceled", err)
	}
}
