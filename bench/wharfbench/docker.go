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
	"strings"
	"time"

	dockerdpkg "wharf/e2e/dockerd"
)

// dockerCmdTimeout bounds one docker CLI command (a push or pull of the
// whole image).
const dockerCmdTimeout = 10 * time.Minute

// dockerd is the private Docker daemon of the docker workload.
type dockerd struct{ *dockerdpkg.Daemon }

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
	logPath := filepath.Join(logDir, "dockerd.log")
	d, err := dockerdpkg.Start(ctx, bin, docker, "wbd", logPath)
	if err != nil {
		return nil, fmt.Errorf("%w (log %s)", err, logPath)
	}
	return &dockerd{d}, nil
}

// run runs a docker CLI command against this daemon; an error carries the
// command's output.
func (d *dockerd) run(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, dockerCmdTimeout)
	defer cancel()
	out, err := d.Run(ctx, stdin, args...)
	if err != nil {
		err = fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out))
	}
	return out, err
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
	settleDisk()
	start := time.Now()
	if _, err := t.docker.run(ctx, nil, "push", ref); err != nil {
		return nil, err
	}
	push := time.Since(start)
	if _, err := t.docker.run(ctx, nil, "rmi", ref); err != nil {
		return nil, err
	}
	settleDisk()
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
