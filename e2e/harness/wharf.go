package harness

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// startTimeout bounds how long a fresh wharf may take to log that it serves.
	startTimeout = 60 * time.Second
	// stopTimeout is how long SIGTERM gets before SIGKILL; a clean shutdown of an
	// idle server taking longer than this is reported as a test error.
	stopTimeout = 15 * time.Second
	// logTailLines is how much of each wharf log a failing test prints.
	logTailLines = 60
)

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// WharfBinary returns the wharf binary under test: $WHARF_BIN if set,
// otherwise `go build ./cmd/wharf`, done once per test binary.
func WharfBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("WHARF_BIN"); p != "" {
		if !isExecutable(p) {
			t.Fatalf("WHARF_BIN=%s is not an executable file", p)
		}
		return p
	}
	buildOnce.Do(func() {
		root, err := findRepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		buildDir, err = os.MkdirTemp("", fmt.Sprintf("%s%d-", buildDirPrefix, os.Getpid()))
		if err != nil {
			buildErr = err
			return
		}
		bin := filepath.Join(buildDir, "wharf")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/wharf")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/wharf: %w\n%s", err, out)
			return
		}
		buildBin = bin
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// buildDirPrefix + pid + "-" names the directory of a built wharf binary.
const buildDirPrefix = "wharf-e2e-bin-"

func removeBuildDir() {
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
}

// removeStaleBuildDirs removes build directories left behind by test
// binaries that died before Main could clean up (a panic, a timeout).
func removeStaleBuildDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), buildDirPrefix+"*"))
	for _, d := range dirs {
		pidStr, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(d), buildDirPrefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			_ = os.RemoveAll(d)
		}
	}
}

// Wharf is a wharf server process started by a test. Its data directory
// outlives Kill9/Restart cycles; each start logs to its own file.
type Wharf struct {
	t       testing.TB
	bin     string
	dataDir string
	logDir  string
	extra   []string
	command []string // when set, the whole command line instead of serve's
	env     []string // added to the environment

	mu     sync.Mutex
	proc   *process
	starts int
	logs   []string
}

type process struct {
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error // valid once done is closed
	addr     string
	signaled bool // the harness stopped it on purpose
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// StartWharf builds (once) and starts `wharf serve` on a random loopback port
// with a fresh data directory, no auth and plain HTTP; extra flags are
// appended. The server is stopped when the test ends, and its log tail is
// printed if the test failed.
func StartWharf(t testing.TB, extra ...string) *Wharf {
	t.Helper()
	SkipIfShort(t)
	w := &Wharf{
		t:       t,
		bin:     WharfBinary(t),
		dataDir: t.TempDir(),
		logDir:  t.TempDir(),
		extra:   extra,
	}
	// Registered after the TempDirs, so it runs before they are removed.
	t.Cleanup(w.cleanup)
	if err := w.start(); err != nil {
		t.Fatalf("start wharf: %v\n%s", err, w.logTails())
	}
	return w
}

// StartWharfCommand starts wharf with a whole command line (for example
// `auth --config …` or `registry`) and extra environment variables. The
// command must listen on a random port (pass --addr 127.0.0.1:0) and log
// its address as serve does.
func StartWharfCommand(t testing.TB, env []string, args ...string) *Wharf {
	t.Helper()
	SkipIfShort(t)
	w := &Wharf{t: t, bin: WharfBinary(t), dataDir: t.TempDir(), logDir: t.TempDir(), command: args, env: env}
	t.Cleanup(w.cleanup)
	if err := w.start(); err != nil {
		t.Fatalf("start wharf %s: %v\n%s", strings.Join(args, " "), err, w.logTails())
	}
	return w
}

// Log returns what the current process has logged so far.
func (w *Wharf) Log() string {
	b, _ := os.ReadFile(w.LogPath())
	return string(b)
}

// Addr is the host:port the current process listens on.
func (w *Wharf) Addr() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.proc.addr
}

// URL is the base URL of the current process, e.g. http://127.0.0.1:41234.
func (w *Wharf) URL() string { return "http://" + w.Addr() }

// PID is the process id of the current process.
func (w *Wharf) PID() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.proc.cmd.Process.Pid
}

// DataDir is the --data directory, shared by every restart.
func (w *Wharf) DataDir() string { return w.dataDir }

// LogPath is the log file of the current process.
func (w *Wharf) LogPath() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.logs[len(w.logs)-1]
}

// Kill9 sends SIGKILL to the server and waits for it to be gone.
func (w *Wharf) Kill9() {
	w.t.Helper()
	w.mu.Lock()
	p := w.proc
	p.signaled = true
	w.mu.Unlock()
	if p.exited() {
		w.t.Fatalf("wharf had already exited before kill -9: %v\n%s", p.waitErr, w.logTails())
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		w.t.Fatalf("wharf pid %d still running %v after SIGKILL", p.cmd.Process.Pid, stopTimeout)
	}
}

// Restart starts a new server process on the same data directory (and a new
// random port) after Kill9 or Stop.
func (w *Wharf) Restart() {
	w.t.Helper()
	w.mu.Lock()
	p := w.proc
	w.mu.Unlock()
	if !p.exited() {
		w.t.Fatal("harness: Restart while the previous wharf process is still running")
	}
	if err := w.start(); err != nil {
		w.t.Fatalf("restart wharf on %s: %v\n%s", w.dataDir, err, w.logTails())
	}
}

// Stop sends SIGTERM, waits, then SIGKILL. A server that had died on its own,
// or ignores SIGTERM, is reported as a test error.
func (w *Wharf) Stop() {
	w.t.Helper()
	w.mu.Lock()
	p := w.proc
	wasSignaled := p.signaled
	p.signaled = true
	w.mu.Unlock()
	if p.exited() {
		if !wasSignaled {
			w.t.Errorf("wharf (pid %d) exited on its own during the test: %v", p.cmd.Process.Pid, p.waitErr)
		}
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	start := time.Now()
	select {
	case <-p.done:
		if p.waitErr != nil {
			w.t.Logf("wharf exited after SIGTERM with: %v", p.waitErr)
		}
		if d := time.Since(start); d > 2*time.Second {
			w.t.Logf("wharf took %v to exit after SIGTERM", d.Round(time.Millisecond))
		}
		return
	case <-time.After(stopTimeout):
	}
	w.t.Errorf("wharf (pid %d) did not exit within %v of SIGTERM; sending SIGKILL", p.cmd.Process.Pid, stopTimeout)
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		w.t.Errorf("wharf (pid %d) survived SIGKILL", p.cmd.Process.Pid)
	}
}

func (w *Wharf) cleanup() {
	w.mu.Lock()
	started := w.proc != nil
	w.mu.Unlock()
	if started {
		w.Stop()
	}
	if w.t.Failed() {
		w.t.Logf("wharf logs:\n%s", w.logTails())
	}
}

func (w *Wharf) logTails() string {
	w.mu.Lock()
	logs := append([]string(nil), w.logs...)
	w.mu.Unlock()
	var b strings.Builder
	for _, l := range logs {
		fmt.Fprintf(&b, "----- %s (last %d lines) -----\n%s\n", filepath.Base(l), logTailLines, tail(l, logTailLines))
	}
	return b.String()
}

func (w *Wharf) start() error {
	w.mu.Lock()
	w.starts++
	logPath := filepath.Join(w.logDir, fmt.Sprintf("wharf-%d.log", w.starts))
	w.logs = append(w.logs, logPath)
	w.mu.Unlock()

	f, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("harness: %w", err)
	}
	defer f.Close()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", w.dataDir, "--auth", "none", "--tls", "off"}, w.extra...)
	if w.command != nil {
		args = w.command
	}
	cmd := exec.Command(w.bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(serverEnv(), w.env...)
	// If the test binary dies (timeout panic, ^C) the server must not outlive it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("harness: start %s: %w", w.bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	w.mu.Lock()
	w.proc = p
	w.mu.Unlock()

	addr, err := waitServing(p, logPath)
	if err != nil {
		return err
	}
	w.mu.Lock()
	p.addr = addr
	w.mu.Unlock()
	return nil
}

// serverEnv is the test's environment without WHARF_* variables: those
// configure the server, and the harness's own knobs (WHARF_BIN, …) must not
// leak into it.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WHARF_") {
			env = append(env, kv)
		}
	}
	return env
}

var servingAddr = regexp.MustCompile(`(?:^|\s)addr="?([^"\s]+)"?`)

// waitServing polls the log for `msg="wharf is serving" … addr=HOST:PORT`,
// then checks the port accepts connections.
func waitServing(p *process, logPath string) (string, error) {
	deadline := time.Now().Add(startTimeout)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if addr := findServingAddr(logPath); addr != "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil || !net.ParseIP(host).IsLoopback() {
				return "", fmt.Errorf("harness: serving line has addr %q, want a loopback host:port", addr)
			}
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return "", fmt.Errorf("harness: wharf logged it serves on %s but: %w", addr, err)
			}
			_ = conn.Close()
			return addr, nil
		}
		select {
		case <-p.done:
			return "", fmt.Errorf("harness: wharf exited before serving: %v", p.waitErr)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf(`harness: no msg="wharf is serving" line in %s after %v`, logPath, startTimeout)
		}
	}
}

func findServingAddr(logPath string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `msg="wharf is serving"`) {
			continue
		}
		if m := servingAddr.FindStringSubmatch(line); m != nil {
			return m[1]
		}
	}
	return ""
}

// ProcStatusKiB reads one "kB" field (VmRSS, VmHWM, …) of /proc/PID/status.
func ProcStatusKiB(pid int, field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("harness: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("harness: unexpected %s line %q", field, line)
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, errors.New("harness: no " + field + " in /proc/" + strconv.Itoa(pid) + "/status")
}
