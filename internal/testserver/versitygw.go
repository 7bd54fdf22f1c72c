package testserver

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// VersityGW is a running versitygw: a real S3 server over a directory (its
// posix backend), which the S3 storage driver's tests talk to as they would
// to AWS, Ceph or MinIO.
type VersityGW struct {
	// Endpoint is the server's URL, http://127.0.0.1:<port>.
	Endpoint string
	// AccessKey and SecretKey are the root account's credentials.
	AccessKey, SecretKey string
	// Region is the region the server signs for.
	Region string
	// Dir is the backend's root: each bucket is a directory in it, each
	// object a file.
	Dir  string
	proc *Process
}

// StartVersityGW starts bin/versitygw (built by `make deps`) with its posix
// backend in a temporary directory, on a free loopback port, with a root
// account of random credentials and one empty bucket per name in buckets.
// It logs to versitygw.log beside the directory and is stopped when the
// test ends.
func StartVersityGW(t testing.TB, buckets ...string) *VersityGW {
	t.Helper()
	SkipIfShort(t)
	candidates := []string{"versitygw"}
	if root, err := repoRoot(); err == nil {
		candidates = append([]string{filepath.Join(root, "bin", "versitygw")}, candidates...)
	}
	bin := FindBinary(t, "versitygw (the S3 server, built into ./bin by `make deps`)", candidates...)
	base := t.TempDir()
	g := &VersityGW{
		AccessKey: "wharf" + randomPassword()[:8],
		SecretKey: randomPassword(),
		Region:    "us-east-1",
		Dir:       filepath.Join(base, "s3"),
	}
	// A bucket of the posix backend is a directory of its root.
	for _, b := range append([]string{""}, buckets...) {
		if err := os.MkdirAll(filepath.Join(g.Dir, b), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	g.Endpoint = "http://" + addr
	cmd := exec.Command(bin, "--port", addr, "--region", g.Region, "posix", g.Dir)
	// Credentials through the environment keep them out of ps.
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+g.AccessKey, "ROOT_SECRET_ACCESS_KEY="+g.SecretKey)
	g.proc = Start(t, "versitygw", filepath.Join(base, "versitygw.log"), cmd)
	client := &http.Client{Timeout: 2 * time.Second}
	g.proc.WaitFor(t, 60*time.Second, func() error {
		// Any HTTP answer (an anonymous request is refused) means the
		// server is up.
		resp, err := client.Get(g.Endpoint + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return g
}

// Stop ends the server (it is stopped at the end of the test anyway).
func (g *VersityGW) Stop(t testing.TB) { g.proc.Stop(t) }

// LogPath is the server's log file.
func (g *VersityGW) LogPath() string { return g.proc.LogPath }
