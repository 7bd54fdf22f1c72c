package external

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// ErrTimeout means the program ran past its timeout and was killed.
var ErrTimeout = errors.New("external: timed out")

// ErrOutputTooLarge means the program wrote more to stdout than allowed.
var ErrOutputTooLarge = errors.New("external: output too large")

// defaultEnv are the variables passed from wharf's environment to every
// program; ProgramConfig.Env adds more.
var defaultEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"}

// fallbackPath is PATH for programs when wharf runs without one.
const fallbackPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Limits of what is kept of a run's output.
const (
	// MaxStdout is the default bound on stdout.
	MaxStdout = 64 << 10
	// maxStderr is what is kept of stderr for error messages.
	maxStderr = 4 << 10
	// waitDelay is how long the pipes are drained after the program
	// exited (or was killed) while another process still holds them.
	waitDelay = 2 * time.Second
)

// ProgramConfig describes a program.
type ProgramConfig struct {
	Command string   // a path, or a name looked up in PATH
	Args    []string // passed as given, no shell
	Timeout time.Duration
	Env     []string // names of extra variables to pass from wharf's environment
	// MaxStdout bounds stdout; 0 means MaxStdout.
	MaxStdout int
}

// Program is a resolved, runnable program. It is safe for concurrent use.
type Program struct {
	path      string
	args      []string
	timeout   time.Duration
	env       []string
	maxStdout int
}

// NewProgram resolves cfg.Command (in PATH when it has no slash) and checks that
// it is an executable file, so that a typo fails at start-up rather than at
// the first login.
func NewProgram(cfg ProgramConfig) (*Program, error) {
	if cfg.Command == "" {
		return nil, errors.New("external: no command")
	}
	if cfg.Timeout <= 0 {
		return nil, errors.New("external: the timeout must be positive")
	}
	path, err := exec.LookPath(cfg.Command)
	if err != nil {
		return nil, fmt.Errorf("external: command %q: %w", cfg.Command, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("external: command %q: %w", cfg.Command, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("external: command %q (%s) is not a regular file", cfg.Command, path)
	}
	p := &Program{path: path, args: append([]string(nil), cfg.Args...), timeout: cfg.Timeout, maxStdout: cfg.MaxStdout}
	if p.maxStdout <= 0 {
		p.maxStdout = MaxStdout
	}
	p.env = environment(append(append([]string(nil), defaultEnv...), cfg.Env...))
	return p, nil
}

func environment(names []string) []string {
	var env []string
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		} else if name == "PATH" {
			env = append(env, "PATH="+fallbackPath)
		}
	}
	return env
}

// Path is the resolved program path.
func (p *Program) Path() string { return p.path }

// String describes the program for logs: its path and arguments.
func (p *Program) String() string {
	return strings.Join(append([]string{p.path}, p.args...), " ")
}

// Timeout is the configured bound on one run.
func (p *Program) Timeout() time.Duration { return p.timeout }

// Result is how a run ended.
type Result struct {
	// ExitCode is the program's exit status (0–255).
	ExitCode int
	// Stdout is everything the program wrote to stdout.
	Stdout []byte
	// Stderr is the beginning of what it wrote to stderr, for messages.
	Stderr []byte
}

// Run starts the program, writes input to its stdin and closes it, and
// waits for it to exit. A program that exits normally — whatever its exit
// code — gives a Result and a nil error. Everything else is an error and
// never a Result to act on: the timeout (ErrTimeout; the process group was
// killed), ctx ending, a start failure, death by a signal, stdout beyond its
// bound (ErrOutputTooLarge), or output pipes held open by a leftover
// process. After every run the process group is killed, so that nothing
// the program left behind keeps running.
func (p *Program) Run(ctx context.Context, input []byte) (Result, error) {
	runCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, p.path, p.args...)
	cmd.Env = p.env
	cmd.Stdin = bytes.NewReader(input)
	stdout := &boundedBuffer{max: p.maxStdout}
	stderr := &boundedBuffer{max: maxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Its own process group, so that the whole group — a shell script and
	// whatever it started — can be killed at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("external: start %s: %w", p.path, err)
	}
	err := cmd.Wait()
	// Leftovers (a background child) die with the group. Until the group
	// is empty its id cannot be reused, so this reaches only the program's
	// own processes.
	_ = killGroup(cmd.Process.Pid)
	res := Result{Stdout: stdout.buf.Bytes(), Stderr: stderr.buf.Bytes()}
	switch {
	case errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		return res, fmt.Errorf("%w after %s (its process group was killed)", ErrTimeout, p.timeout)
	case ctx.Err() != nil:
		return res, fmt.Errorf("external: %w", ctx.Err())
	case stdout.overflow:
		return res, fmt.Errorf("%w: more than %d bytes on stdout", ErrOutputTooLarge, p.maxStdout)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return res, nil
	case errors.Is(err, exec.ErrWaitDelay):
		return res, errors.New("external: the program exited but a process it started kept its output open (it was killed)")
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return res, fmt.Errorf("external: killed by signal %v", ws.Signal())
		}
		res.ExitCode = exitErr.ExitCode()
		return res, nil
	default:
		return res, fmt.Errorf("external: %w", err)
	}
}

func killGroup(pid int) error {
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// boundedBuffer keeps the first max bytes written to it and discards the
// rest, never failing a write: a program whose writes fail might block or
// die before exiting with the code that matters.
type boundedBuffer struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room < len(p) {
		b.overflow = true
		b.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	b.buf.Write(p)
	return len(p), nil
}

// excerpt renders the start of a program's stderr or a webhook's answer
// for a log line or an error: trimmed, at most n bytes, with every
// occurrence of each hidden string (a password the program might echo, the
// webhook's secret) replaced by ***.
func excerpt(b []byte, n int, hidden ...string) string {
	s := string(b)
	for _, h := range hidden {
		if h == "" {
			continue
		}
		s = strings.ReplaceAll(s, h, "***")
		// Captured stderr is cut at a bound, possibly inside the secret.
		for k := len(h) - 1; k > 0; k-- {
			if strings.HasSuffix(s, h[:k]) {
				s = s[:len(s)-k] + "***"
				break
			}
		}
	}
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
