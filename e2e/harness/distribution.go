package harness

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Distribution is the real distribution registry (bin/registry, pinned in
// scripts/deps.sh) started by a test.
type Distribution struct {
	Addr    string
	LogPath string
	stop    func()
}

// Stop stops the registry (SIGTERM, then SIGKILL) and waits for it to
// exit, so that a test may read its storage at rest. The end of the test
// stops it too.
func (d *Distribution) Stop() { d.stop() }

// DistributionBinary locates bin/registry.
func DistributionBinary(t testing.TB) string {
	t.Helper()
	p := filepath.Join(RepoRoot(t), "bin", "registry")
	RequireFile(t, p, "the distribution registry (bin/registry)")
	return p
}

// FreeLoopbackAddr returns a free 127.0.0.1 port, for servers (like
// distribution) that cannot report the port they bound.
func FreeLoopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// StartDistribution writes configYAML (with {{ADDR}} and {{ROOT}} replaced
// by a free loopback address and a fresh storage directory), starts
// `registry serve` on it, logging to a file, and stops it when the test ends.
func StartDistribution(t testing.TB, configYAML string) *Distribution {
	t.Helper()
	SkipIfShort(t)
	bin := DistributionBinary(t)
	dir := t.TempDir()
	d := &Distribution{Addr: FreeLoopbackAddr(t), LogPath: filepath.Join(dir, "registry.log")}
	cfg := strings.NewReplacer("{{ADDR}}", d.Addr, "{{ROOT}}", filepath.Join(dir, "storage")).Replace(configYAML)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(d.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = WithoutRegistryEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start distribution: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logf.Close() }()
	d.stop = sync.OnceFunc(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("distribution log (last %d lines):\n%s", logTailLines, tail(d.LogPath, logTailLines))
		}
	})
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.Addr+"/v2/", nil)
		res, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			res.Body.Close()
			return d
		}
		select {
		case err := <-done:
			t.Fatalf("distribution exited before serving: %v\n%s", err, tail(d.LogPath, logTailLines))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("distribution did not answer on %s within %v\n%s", d.Addr, startTimeout, tail(d.LogPath, logTailLines))
		}
	}
}

// WithoutRegistryEnv keeps REGISTRY_* variables of the test's environment
// away from the registry under test.
func WithoutRegistryEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGISTRY_") {
			env = append(env, kv)
		}
	}
	return env
}
