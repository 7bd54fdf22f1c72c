package testserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// InstallHint is what a failing test says when a program it needs is
// missing: the one command that installs them all.
const InstallHint = "run `make deps` (scripts/deps.sh installs the Debian packages and the pinned Go tools the tests need)"

// installHint is InstallHint, for this package's messages.
const installHint = InstallHint

// SkipIfShort skips t under `go test -short`: real servers and processes
// take seconds to start.
func SkipIfShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real servers or processes; skipped under -short")
	}
}

// FindBinary returns the first candidate path (absolute, or a name looked up
// in PATH; globs allowed) that is executable, or fails t naming what to install.
func FindBinary(t testing.TB, what string, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if !strings.ContainsRune(c, '/') {
			if p, err := exec.LookPath(c); err == nil {
				return p
			}
			continue
		}
		matches, _ := filepath.Glob(c)
		for i := len(matches) - 1; i >= 0; i-- { // newest version last in glob order
			if fi, err := os.Stat(matches[i]); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
				return matches[i]
			}
		}
	}
	t.Fatalf("%s not found (looked for %s): %s", what, strings.Join(candidates, ", "), installHint)
	return ""
}

// FreePort returns a free TCP port on 127.0.0.1, for servers that cannot
// report the port they bound. The port is free when returned; a server
// started right after binds it in practice.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Process is a server started by Start.
type Process struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// Start runs cmd in its own process group with stdout and stderr appended
// to logPath, and registers a cleanup that stops it (SIGTERM, then SIGKILL
// after 10 s) when the test ends. name is used in messages.
func Start(t testing.TB, name, logPath string, cmd *exec.Cmd) *Process {
	t.Helper()
	p, err := start(name, logPath, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return p
}

// start is Start without a test: the caller stops the process.
func start(name, logPath string, cmd *exec.Cmd) (*Process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// Go sets the parent-death signal after switching credentials, so it
	// holds for servers run as another user too.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process group: SIGTERM, then SIGKILL after 10 s. It is
// safe to call more than once.
func (p *Process) Stop(t testing.TB) {
	t.Helper()
	p.stop()
}

func (p *Process) stop() {
	if p.Exited() {
		return
	}
	pgid := -p.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-p.done
	}
}

// kill ends the process group with SIGKILL and waits for it.
func (p *Process) kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// WaitTCP waits until addr accepts TCP connections, the process exits, or
// timeout passes; the last two fail t with the log's tail.
func (p *Process) WaitTCP(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	p.WaitFor(t, timeout, func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// WaitFor polls ready every 50 ms until it returns nil, the process exits,
// or timeout passes; the last two fail t with the log's tail.
func (p *Process) WaitFor(t testing.TB, timeout time.Duration, ready func() error) {
	t.Helper()
	if err := p.waitFor(timeout, ready); err != nil {
		t.Fatal(err)
	}
}

func (p *Process) waitFor(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("%s exited during start-up (%v); log %s:\n%s", p.Name, p.err, p.LogPath, Tail(p.LogPath, 30))
		}
		if last = ready(); last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %v (%v); log %s:\n%s", p.Name, timeout, last, p.LogPath, Tail(p.LogPath, 30))
}

// Run runs a setup command to completion, failing t with its output when
// it fails.
func Run(t testing.TB, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return string(out)
}

// Tail returns the last n lines of the file at path, for failure messages.
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… (%d earlier lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// CPUTime is the CPU time (user and system) the test process has used so
// far: benchmarks print it per operation, since on a shared machine wall
// time measures the neighbours too.
func CPUTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
