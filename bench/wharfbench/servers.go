package wharfbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	startTimeout = 60 * time.Second
	stopTimeout  = 15 * time.Second
)

// server is one registry process under test.
type server struct {
	name    string // "wharf" or "distribution"
	url     string // http://127.0.0.1:port
	logPath string
	// debugURL serves /debug/pprof/ when the run takes profiles.
	debugURL string
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
}

// RepoRoot finds the directory of the wharf module upwards from the working
// directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("wharfbench: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module wharf\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("wharfbench: not inside the wharf module (no go.mod saying `module wharf`)")
		}
		dir = parent
	}
}

// buildWharf builds ./cmd/wharf into dir as `make build` does (static, no
// cgo, -trimpath, stripped; scripts/deps.sh builds bin/registry the same
// way), so the benchmark measures the working tree as it ships, not a stale
// binary.
func buildWharf(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "wharf")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/wharf")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("wharfbench: go build ./cmd/wharf: %w\n%s", err, out)
	}
	return bin, nil
}

// distributionBinary locates bin/registry (scripts/deps.sh installs it).
func distributionBinary(root string) (string, error) {
	p := filepath.Join(root, "bin", "registry")
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("wharfbench: the distribution registry is not at %s: run `make deps` (scripts/deps.sh)", p)
	}
	return p, nil
}

// freeLoopbackAddr returns a free 127.0.0.1 port. Distribution cannot report
// the port it bound, so both servers get one this way, the same way.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("wharfbench: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// distributionConfig is a minimal config: filesystem storage, delete on, no
// auth, and the in-memory blob descriptor cache that the registry image's
// own config.yml turns on (what people run).
// The first verb is the storage driver's section, indented under storage.
const distributionConfig = `version: 0.1
log:
  level: info
storage:
%s  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: %q
`

// filesystemDistributionConfig is distributionConfig with its blobs in
// root, listening on addr.
func filesystemDistributionConfig(root, addr string) string {
	return fmt.Sprintf(distributionConfig, fmt.Sprintf("  filesystem:\n    rootdirectory: %q\n", root), addr)
}

// startWharf starts a wharf named name, its data in dir/<name>-data and its
// log in dir/<name>.log, with the wharf.yml config when it is set; with
// debug, its profiles are served on a second loopback port.
func startWharf(ctx context.Context, bin, dir, name string, debug bool, config string) (*server, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--addr", addr, "--data", filepath.Join(dir, name+"-data"), "--auth", "none", "--tls", "off"}
	if config != "" {
		args = append(args, "--config", config)
	}
	var debugAddr string
	if debug {
		if debugAddr, err = freeLoopbackAddr(); err != nil {
			return nil, err
		}
		args = append(args, "--debug-addr", debugAddr)
	}
	s, err := startServer(ctx, name, addr, filepath.Join(dir, name+".log"), bin, args...)
	if s != nil {
		s.debugURL = "http://" + debugAddr
	}
	return s, err
}

// startDistribution starts distribution; with debug, its http.debug
// listener (the same Go profiles) on a second loopback port.
func startDistribution(ctx context.Context, bin, dir string, debug bool) (*server, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	body := filesystemDistributionConfig(filepath.Join(dir, "registry-data"), addr)
	var debugAddr string
	if debug {
		if debugAddr, err = freeLoopbackAddr(); err != nil {
			return nil, err
		}
		body += fmt.Sprintf("  debug:\n    addr: %q\n", debugAddr)
	}
	cfg := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return nil, fmt.Errorf("wharfbench: %w", err)
	}
	s, err := startServer(ctx, "distribution", addr, filepath.Join(dir, "registry.log"), bin, "serve", cfg)
	if s != nil {
		s.debugURL = "http://" + debugAddr
	}
	return s, err
}

// startServer starts a registry (or a token server) and waits until its
// /v2/ answers.
func startServer(ctx context.Context, name, addr, logPath, bin string, args ...string) (*server, error) {
	return startProcess(ctx, name, addr, "/v2/", logPath, nil, func(res *http.Response) bool {
		// 200 without auth, 401 with; a token server alone has no /v2/.
		return res.StatusCode == http.StatusOK || res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusNotFound
	}, bin, args...)
}

// waitReady polls GET path until ready accepts an answer; it stops the
// server if it does not serve within startTimeout.
func (s *server) waitReady(ctx context.Context, path string, ready func(*http.Response) bool) error {
	deadline := time.Now().Add(startTimeout)
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, s.url+path, nil)
		res, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			res.Body.Close()
			if ready(res) {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("wharfbench: %s exited before serving: %v (log %s)", s.name, s.waitErr, s.logPath)
		case <-ctx.Done():
			s.stop()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("wharfbench: %s did not answer on %s within %v (log %s)", s.name, s.url, startTimeout, s.logPath)
		}
	}
}

// stop sends SIGTERM, then SIGKILL after stopTimeout.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// alive reports an error if the server has exited during the run.
func (s *server) alive() error {
	select {
	case <-s.done:
		return fmt.Errorf("wharfbench: %s exited during the run: %v (log %s)", s.name, s.waitErr, s.logPath)
	default:
		return nil
	}
}

func withoutPrefix(env []string, prefixes ...string) []string {
	var out []string
next:
	for _, kv := range env {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}
