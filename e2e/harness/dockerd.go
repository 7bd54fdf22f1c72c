package harness

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wharf/e2e/dockerd"
)

// dockerCmdTimeout bounds one docker CLI command.
const dockerCmdTimeout = 5 * time.Minute

// Dockerd is a private Docker daemon (package dockerd) for one test.
type Dockerd struct {
	t testing.TB
	*dockerd.Daemon
}

// StartDockerd starts dockerd and waits until `docker info` answers. It is
// stopped, together with its containerd, and its directories are removed
// when the test ends. extra flags go to dockerd (--registry-mirror=…).
func StartDockerd(t testing.TB, extra ...string) *Dockerd {
	t.Helper()
	SkipIfShort(t)
	dockerdBin := RequireTool(t, "dockerd")
	// Prefer the client shipped with the daemon (Debian's docker.io) so the
	// API versions match; fall back to whatever docker is in PATH.
	docker := RequireTool(t, "docker", filepath.Join(filepath.Dir(dockerdBin), "docker"), "/usr/bin/docker")
	RequireTool(t, "containerd")
	logPath := filepath.Join(t.TempDir(), "dockerd.log")
	dd, err := dockerd.Start(t.Context(), dockerdBin, docker, "wd", logPath, extra...)
	if err != nil {
		t.Fatalf("harness: %v\n%s", err, tail(logPath, logTailLines))
	}
	d := &Dockerd{t: t, Daemon: dd}
	t.Cleanup(d.cleanup)
	t.Logf("dockerd %s ready on %s (log %s)", dd.Version, dd.Host(), logPath)
	return d
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
	return d.Daemon.Run(ctx, stdin, args...)
}

func (d *Dockerd) cleanup() {
	t := d.t
	s := d.Stop()
	if s.ExitedEarly != nil {
		t.Errorf("%v (during the test)", s.ExitedEarly)
	}
	for _, n := range s.Notes {
		t.Logf("harness: %s", n)
	}
	if s.Err != nil {
		t.Errorf("harness: %v", s.Err)
	}
	if t.Failed() {
		t.Logf("dockerd log (last %d lines):\n%s", logTailLines, tail(d.LogPath, logTailLines))
	}
}
