package dockerd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"wharf/e2e/proctree"
)

const (
	startTimeout = 90 * time.Second
	stopTimeout  = 30 * time.Second
)

// Daemon is a running private dockerd.
type Daemon struct {
	dir, host, docker string
	// LogPath is the daemon's log file.
	LogPath string
	// Version is the daemon's version, as `docker info` answered it.
	Version string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// Start starts bin (dockerd) with its directory made under /tmp with the
// given prefix (socket paths are limited to about 100 bytes), logging to
// logPath, and waits until docker (the CLI) gets an answer from it; extra
// flags (--registry-mirror=…) are passed to dockerd. On an error nothing is
// left running.
func Start(ctx context.Context, bin, docker, prefix, logPath string, extra ...string) (*Daemon, error) {
	dir, err := os.MkdirTemp("/tmp", prefix)
	if err != nil {
		return nil, err
	}
	d := &Daemon{dir: dir, host: "unix://" + filepath.Join(dir, "d.sock"), docker: docker,
		LogPath: logPath, done: make(chan struct{})}
	// Our own config file keeps the host's /etc/docker/daemon.json out, and
	// the daemon's identity key (by default /etc/docker/key.json) in here.
	config := fmt.Sprintf("{%q: %q}\n", "deprecated-key-path", filepath.Join(dir, "key.json"))
	if err := errors.Join(
		os.WriteFile(filepath.Join(dir, "daemon.json"), []byte(config), 0o644),
		os.Mkdir(filepath.Join(dir, "cli"), 0o700)); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	d.cmd = exec.Command(bin, append([]string{
		"--config-file", filepath.Join(dir, "daemon.json"),
		"--storage-driver=vfs", "--iptables=false", "--ip-masq=false", "--bridge=none",
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "x"),
		"--pidfile", filepath.Join(dir, "d.pid"),
		"-H", d.host}, extra...)...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start dockerd: %w", err)
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.done)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		out, err := d.Run(actx, nil, "info", "--format", "{{.ServerVersion}}")
		cancel()
		if err == nil {
			d.Version = strings.TrimSpace(out)
			return d, nil
		}
		select {
		case <-d.done:
			d.Stop()
			return nil, fmt.Errorf("dockerd exited before answering: %v", d.waitErr)
		case <-ctx.Done():
			d.Stop()
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.Stop()
			return nil, fmt.Errorf("dockerd did not answer `docker info` within %v: %v: %s", startTimeout, err, out)
		}
	}
}

// Host is the -H value for docker, e.g. unix:///tmp/wd123/d.sock.
func (d *Daemon) Host() string { return d.host }

// Run runs a docker CLI command against the daemon, with a private client
// config (no credential helpers or contexts from $HOME), and returns its
// combined output.
func (d *Daemon) Run(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, d.docker, append([]string{"-H", d.host}, args...)...)
	cmd.Stdin = stdin
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+filepath.Join(d.dir, "cli"), "DOCKER_HOST="+d.host)
	cmd.WaitDelay = 10 * time.Second
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// Stopped is what Stop found and did, for the caller to report.
type Stopped struct {
	// ExitedEarly is set when the daemon had exited on its own, with
	// how it ended.
	ExitedEarly error
	// Notes: processes that needed SIGKILL.
	Notes []string
	// Err: mounts or files that could not be removed.
	Err error
}

// Stop ends the daemon (SIGTERM, SIGKILL after 30 s) and its containerd,
// unmounts what they left under the daemon's directory and removes it.
func (d *Daemon) Stop() Stopped {
	var s Stopped
	// Remember dockerd's children (its containerd) before they are orphaned.
	children := proctree.Children(d.cmd.Process.Pid)
	if b, err := os.ReadFile(filepath.Join(d.dir, "x", "containerd", "containerd.pid")); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && !slices.Contains(children, n) {
			children = append(children, n)
		}
	}
	select {
	case <-d.done:
		s.ExitedEarly = fmt.Errorf("dockerd exited on its own: %v", d.waitErr)
	default:
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(stopTimeout):
			s.Notes = append(s.Notes, fmt.Sprintf("dockerd did not stop within %v of SIGTERM; sent SIGKILL", stopTimeout))
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	}
	for _, c := range children {
		if cmd := proctree.StopOrphan(c, d.dir); cmd != "" {
			s.Notes = append(s.Notes, fmt.Sprintf("pid %d (%s) ignored SIGTERM; sent SIGKILL", c, cmd))
		}
	}
	var errs []error
	for _, m := range proctree.MountsUnder(d.dir) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	if err := os.RemoveAll(d.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove dockerd dir: %w", err))
	}
	s.Err = errors.Join(errs...)
	return s
}
