package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wharf/internal/testserver"
)

// ctrTimeout bounds one ctr command (a pull of a small image).
const ctrTimeout = 2 * time.Minute

// Containerd is a private containerd for one test, driven with ctr.
type Containerd struct {
	t       testing.TB
	proc    *testserver.Process
	ctr     string
	Socket  string // its gRPC socket
	LogPath string
}

// containerdConfig keeps every path under the test's directories, leaves
// out the CRI and every snapshotter but `native` (no mounts to undo, and
// it works on any filesystem, overlay inside a container included).
const containerdConfig = `version = 2
root = %q
state = %q
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.overlayfs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.internal.v1.opt",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  level = "debug"
`

// StartContainerd starts containerd (as root: it refuses otherwise) with
// its root, state and sockets in temporary directories and waits until ctr
// reaches it. It is stopped (SIGTERM, SIGKILL after 10 s) when the test
// ends.
func StartContainerd(t testing.TB) *Containerd {
	t.Helper()
	SkipIfShort(t)
	bin := RequireTool(t, "containerd", "/usr/bin/containerd")
	ctr := RequireTool(t, "ctr", filepath.Join(filepath.Dir(bin), "ctr"), "/usr/bin/ctr")
	if os.Geteuid() != 0 {
		t.Fatal("harness: containerd needs root (unpacking a layer sets its files' owners): run the e2e tests as root")
	}
	dir := t.TempDir()
	// A unix socket path is limited to 108 bytes: t.TempDir's can be longer.
	sockDir, err := os.MkdirTemp("", "ctd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	c := &Containerd{
		t:       t,
		ctr:     ctr,
		Socket:  filepath.Join(sockDir, "c.sock"),
		LogPath: filepath.Join(dir, "containerd.log"),
	}
	cfg := filepath.Join(dir, "config.toml")
	body := fmt.Sprintf(containerdConfig, filepath.Join(dir, "root"), filepath.Join(sockDir, "state"),
		c.Socket, filepath.Join(sockDir, "t.sock"))
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c.proc = testserver.Start(t, "containerd", c.LogPath, exec.Command(bin, "--config", cfg))
	t.Cleanup(c.report) // runs before Start's cleanup stops it
	c.proc.WaitFor(t, startTimeout, func() error {
		_, err := c.TryCtr("version")
		return err
	})
	t.Logf("containerd ready on %s (log %s)", c.Socket, c.LogPath)
	return c
}

// Ctr runs ctr against this containerd in the namespace "wharf" and
// returns its combined output; a non-zero exit fails the test.
func (c *Containerd) Ctr(args ...string) string {
	c.t.Helper()
	out, err := c.TryCtr(args...)
	if err != nil {
		c.t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TryCtr is Ctr that returns the error instead of failing.
func (c *Containerd) TryCtr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
	defer cancel()
	full := append([]string{"--address", c.Socket, "--namespace", "wharf"}, args...)
	out, err := exec.CommandContext(ctx, c.ctr, full...).CombinedOutput()
	return string(out), err
}

// report fails the test if containerd ended before it, and prints the
// log's tail when the test failed.
func (c *Containerd) report() {
	if c.proc.Exited() {
		c.t.Errorf("harness: containerd exited during the test; log %s", c.LogPath)
	}
	if c.t.Failed() {
		c.t.Logf("containerd log (last %d lines):\n%s", logTailLines, tail(c.LogPath, logTailLines))
	}
}
