package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"wharf/e2e/proctree"
)

const (
	dockerdStartTimeout = 90 * time.Second
	dockerdStopTimeout  = 30 * time.Second
	dockerCmdTimeout    = 5 * time.Minute
)

// Dockerd is a private Docker daemon: its own data root, exec root, pid file
// and socket under a short directory in /tmp (unix socket paths are limited to
// ~100 bytes), vfs storage, no iptables and no bridge, so it touches nothing
// on the host and never conflicts with another daemon.
type Dockerd struct {
	t       testing.TB
	dir     string
	host    string
	docker  string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// StartDockerd starts dockerd and waits until `docker info` answers. It is
// stopped, together with its containerd, and its directories are removed
// when the test ends.
func StartDockerd(t testing.TB) *Dockerd {
	t.Helper()
	SkipIfShort(t)
	dockerdBin := RequireTool(t, "dockerd")
	// Prefer the client shipped with the daemon (Debian's docker.io) so the
	// API versions match; fall back to whatever docker is in PATH.
	docker := RequireTool(t, "docker", filepath.Join(filepath.Dir(dockerdBin), "docker"), "/usr/bin/docker")
	RequireTool(t, "containerd")

	dir, err := os.MkdirTemp("/tmp", "wd")
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	d := &Dockerd{
		t:       t,
		dir:     dir,
		host:    "unix://" + filepath.Join(dir, "d.sock"),
		docker:  docker,
		logPath: filepath.Join(t.TempDir(), "dockerd.log"),
		done:    make(chan struct{}),
	}
	t.Cleanup(d.cleanup)

	// Our own config file keeps the host's /etc/docker/daemon.json out, and
	// the daemon's identity key (by default /etc/docker/key.json) in here.
	config := fmt.Sprintf("{%q: %q}\n", "deprecated-key-path", filepath.Join(dir, "key.json"))
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte(config), 0o644); err != nil {
		t.Fatalf("harness: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "cli"), 0o700); err != nil {
		t.Fatalf("harness: %v", err)
	}
	logFile, err := os.Create(d.logPath)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	defer logFile.Close()
	d.cmd = exec.Command(dockerdBin,
		"--config-file", filepath.Join(dir, "daemon.json"),
		"--storage-driver=vfs",
		"--iptables=false",
		"--ip-masq=false",
		"--bridge=none",
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "x"),
		"--pidfile", filepath.Join(dir, "d.pid"),
		"-H", d.host,
	)
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("harness: start dockerd: %v", err)
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.done)
	}()
	d.waitReady()
	return d
}

// Host is the -H value for docker, e.g. unix:///tmp/wd123/d.sock.
func (d *Dockerd) Host() string { return d.host }

func (d *Dockerd) waitReady() {
	d.t.Helper()
	deadline := time.Now().Add(dockerdStartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := d.command(ctx, nil, "info", "--format", "{{.ServerVersion}}").CombinedOutput()
		cancel()
		if err == nil {
			d.t.Logf("dockerd %s ready on %s (log %s)", strings.TrimSpace(string(out)), d.host, d.logPath)
			return
		}
		select {
		case <-d.done:
			d.t.Fatalf("dockerd exited before answering: %v\n%s", d.waitErr, tail(d.logPath, logTailLines))
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("dockerd did not answer `docker info` within %v: %v: %s\n%s",
				dockerdStartTimeout, err, out, tail(d.logPath, logTailLines))
		}
	}
}

func (d *Dockerd) command(ctx context.Context, stdin io.Reader, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.docker, append([]string{"-H", d.host}, args...)...)
	cmd.Stdin = stdin
	// A private client config dir: no credential helpers or contexts from $HOME.
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+filepath.Join(d.dir, "cli"), "DOCKER_HOST="+d.host)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// Run runs a docker CLI command against this daemon and returns its combined
// output; a non-zero exit fails the test with the output.
func (d *Dockerd) Run(args ...string) string {
	d.t.Helper()
	out, err := d.TryRun(nil, args...)
	if err != nil {
		d.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TryRun is Run that returns the error instead of failing, with optional stdin.
func (d *Dockerd) TryRun(stdin io.Reader, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerCmdTimeout)
	defer cancel()
	var buf bytes.Buffer
	cmd := d.command(ctx, stdin, args...)
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

func (d *Dockerd) cleanup() {
	t := d.t
	pid := d.cmd.Process.Pid
	// Remember dockerd's children (its containerd) before they are orphaned.
	children := proctree.Children(pid)
	if b, err := os.ReadFile(filepath.Join(d.dir, "x", "containerd", "containerd.pid")); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && !slices.Contains(children, n) {
			children = append(children, n)
		}
	}

	select {
	case <-d.done:
		t.Errorf("dockerd exited on its own during the test: %v", d.waitErr)
	default:
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(dockerdStopTimeout):
			t.Logf("dockerd did not stop within %v of SIGTERM; sending SIGKILL", dockerdStopTimeout)
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	}
	for _, c := range children {
		if cmd := proctree.StopOrphan(c, d.dir); cmd != "" {
			t.Logf("harness: pid %d (%s) ignored SIGTERM; sent SIGKILL", c, cmd)
		}
	}
	for _, m := range proctree.MountsUnder(d.dir) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			t.Errorf("harness: unmount %s: %v", m, err)
		}
	}
	if err := os.RemoveAll(d.dir); err != nil {
		t.Errorf("harness: remove dockerd dir: %v", err)
	}
	if t.Failed() {
		t.Logf("dockerd log (last %d lines):\n%s", logTailLines, tail(d.logPath, logTailLines))
	}
}
