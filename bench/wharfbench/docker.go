package wharfbench

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"wharf/e2e/proctree"
)

const (
	dockerdStartTimeout = 90 * time.Second
	dockerdStopTimeout  = 30 * time.Second
	dockerCmdTimeout    = 10 * time.Minute
)

// dockerd is a private Docker daemon: its own data root, exec root, pid
// file and socket under a short directory in /tmp (socket paths are limited
// to about 100 bytes), vfs storage, no iptables and no bridge, so it
// touches nothing on the host and never meets another daemon.
type dockerd struct {
	dir, host, docker, logPath string
	cmd                        *exec.Cmd
	done                       chan struct{}
	waitErr                    error
}

// dockerMissing says why the Docker workload cannot run here, or "".
func dockerMissing() string {
	if os.Geteuid() != 0 {
		return "needs root (it starts a private dockerd)"
	}
	for _, tool := range []string{"dockerd", "docker", "containerd"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " is not installed (Debian: apt-get install docker.io)"
		}
	}
	return ""
}

// startDockerd starts dockerd, logging to logDir/dockerd.log, and waits
// until `docker info` answers.
func startDockerd(ctx context.Context, logDir string) (*dockerd, error) {
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		return nil, err
	}
	// The client shipped beside the daemon speaks its API version.
	docker := filepath.Join(filepath.Dir(bin), "docker")
	if _, err := os.Stat(docker); err != nil {
		if docker, err = exec.LookPath("docker"); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("/tmp", "wbd")
	if err != nil {
		return nil, err
	}
	d := &dockerd{dir: dir, host: "unix://" + filepath.Join(dir, "d.sock"), docker: docker,
		logPath: filepath.Join(logDir, "dockerd.log"), done: make(chan struct{})}
	// Our own config file keeps the host's /etc/docker/daemon.json out.
	config := fmt.Sprintf("{%q: %q}\n", "deprecated-key-path", filepath.Join(dir, "key.json"))
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte(config), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "cli"), 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logf, err := os.Create(d.logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	d.cmd = exec.Command(bin,
		"--config-file", filepath.Join(dir, "daemon.json"),
		"--storage-driver=vfs", "--iptables=false", "--ip-masq=false", "--bridge=none",
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "x"),
		"--pidfile", filepath.Join(dir, "d.pid"),
		"-H", d.host)
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
	deadline := time.Now().Add(dockerdStartTimeout)
	for {
		out, err := d.run(ctx, nil, "info", "--format", "{{.ServerVersion}}")
		if err == nil {
			return d, nil
		}
		select {
		case <-d.done:
			d.stop()
			return nil, fmt.Errorf("dockerd exited before answering: %v (log %s)", d.waitErr, d.logPath)
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("dockerd did not answer `docker info` within %v: %v: %s (log %s)", dockerdStartTimeout, err, out, d.logPath)
		}
	}
}

// run runs a docker CLI command against this daemon.
func (d *dockerd) run(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, dockerCmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.docker, append([]string{"-H", d.host}, args...)...)
	cmd.Stdin = stdin
	// A private client config: no credential helpers or contexts from $HOME.
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+filepath.Join(d.dir, "cli"), "DOCKER_HOST="+d.host)
	cmd.WaitDelay = 10 * time.Second
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(buf.String()))
	}
	return buf.String(), err
}

// stop ends dockerd and its containerd, unmounts what they left and
// removes the daemon's directory.
func (d *dockerd) stop() {
	children := proctree.Children(d.cmd.Process.Pid)
	if b, err := os.ReadFile(filepath.Join(d.dir, "x", "containerd", "containerd.pid")); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			children = append(children, n)
		}
	}
	select {
	case <-d.done:
	default:
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(dockerdStopTimeout):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	}
	for _, pid := range children {
		proctree.StopOrphan(pid, d.dir)
	}
	for _, m := range proctree.MountsUnder(d.dir) {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
	_ = os.RemoveAll(d.dir)
}

func dockerWorkload(o Options) workload {
	what := fmt.Sprintf("%d layers, %s image", o.DockerLayers, sizeName(o.DockerSize))
	return workload{
		rows: []row{
			{name: "docker push, " + what + ", wall time", unit: "s", lowerBetter: true},
			{name: "docker pull, " + what + ", wall time", unit: "s", lowerBetter: true},
		},
		run:    dockerPushPull,
		docker: true,
	}
}

// dockerPushPull loads a fresh image (random layers, made here, never
// pulled from anywhere) into the private daemon, times `docker push` of it
// to the server, removes it locally and times `docker pull` of it back.
func dockerPushPull(ctx context.Context, t *target, round int) ([]float64, error) {
	if t.docker == nil {
		return nil, errors.New("wharfbench: no Docker daemon")
	}
	o := t.opts
	ref := strings.TrimPrefix(t.url, "http://") + fmt.Sprintf("/bench/docker:r%d", round)
	archive, err := imageArchive(ref, o.DockerLayers, o.DockerSize, uint64(7000+round*2+t.idx))
	if err != nil {
		return nil, err
	}
	if _, err := t.docker.run(ctx, bytes.NewReader(archive), "load"); err != nil {
		return nil, err
	}
	archive = nil
	start := time.Now()
	if _, err := t.docker.run(ctx, nil, "push", ref); err != nil {
		return nil, err
	}
	push := time.Since(start)
	if _, err := t.docker.run(ctx, nil, "rmi", ref); err != nil {
		return nil, err
	}
	start = time.Now()
	if _, err := t.docker.run(ctx, nil, "pull", ref); err != nil {
		return nil, err
	}
	pull := time.Since(start)
	if _, err := t.docker.run(ctx, nil, "rmi", ref); err != nil {
		return nil, err
	}
	return []float64{push.Seconds(), pull.Seconds()}, nil
}

// imageArchive is a `docker save` archive (manifest.json, config, one
// uncompressed tar per layer) of an image tagged ref with layers layers of
// random files, size bytes in all.
func imageArchive(ref string, layers int, size int64, seed uint64) ([]byte, error) {
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	var diffIDs, paths []string
	r := rand.NewChaCha8(seedKey(seed, 'd'))
	for i := range layers {
		content := make([]byte, size/int64(layers))
		_, _ = r.Read(content)
		var layer bytes.Buffer
		lw := tar.NewWriter(&layer)
		if err := lw.WriteHeader(&tar.Header{Name: fmt.Sprintf("layer%d.bin", i), Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := lw.Write(content); err != nil {
			return nil, err
		}
		if err := lw.Close(); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(layer.Bytes())
		diffIDs = append(diffIDs, "sha256:"+hex.EncodeToString(sum[:]))
		paths = append(paths, hex.EncodeToString(sum[:])+"/layer.tar")
		if err := add(paths[i], layer.Bytes()); err != nil {
			return nil, err
		}
	}
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(config)
	configName := hex.EncodeToString(sum[:]) + ".json"
	manifest, err := json.Marshal([]map[string]any{{"Config": configName, "RepoTags": []string{ref}, "Layers": paths}})
	if err != nil {
		return nil, err
	}
	if err := add(configName, config); err != nil {
		return nil, err
	}
	if err := add("manifest.json", manifest); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
