package e2e

import (
	"archive/tar"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"wharf/e2e/harness"
	"wharf/internal/datadir"
)

const (
	testImage    = "wharf:latest" // make image's default, which the docs use
	imageUID     = 65532
	imagePass    = "image-admin-pw"
	healthyAfter = 60 * time.Second
)

// repoCopy copies the repository's files (git ls-files: tracked and
// untracked but not ignored, so no bin/, build/ or data directories) to a
// temporary directory, where documented commands such as `make image` and
// `make build` can write without touching the checkout.
func repoCopy(t *testing.T) string {
	t.Helper()
	root := harness.RepoRoot(t)
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files (the copy of the repository needs git): %v", err)
	}
	dir := t.TempDir()
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		fi, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the checkout, not yet in git
		}
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// dockerToolDir returns a directory holding `docker`, the client the
// harness uses with this daemon, for the front of PATH in commands the
// tests run as a user would (make image, the documented steps).
func dockerToolDir(t *testing.T) string {
	t.Helper()
	dockerdBin := harness.RequireTool(t, "dockerd")
	docker := harness.RequireTool(t, "docker", filepath.Join(filepath.Dir(dockerdBin), "docker"), "/usr/bin/docker")
	dir := t.TempDir()
	if err := os.Symlink(docker, filepath.Join(dir, "docker")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// makeImage runs `make image` in src against the daemon: the Makefile's
// target itself, once per run, shared by every subtest of TestImage and
// the documentation walk.
func makeImage(t *testing.T, d *harness.Dockerd, src, toolDir string) {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("make", "image", "IMAGE="+testImage)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.Host(), "PATH="+toolDir+":"+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	fi, err := os.Stat(filepath.Join(src, "build", "wharf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("make image in %v: static binary %.1f MiB", time.Since(start).Round(time.Millisecond), float64(fi.Size())/(1<<20))
}

// imageConfig is the part of `docker image inspect`'s .Config checked here.
type imageConfig struct {
	User         string
	Entrypoint   []string
	Cmd          []string
	Env          []string
	ExposedPorts map[string]struct{}
	Volumes      map[string]struct{}
	Healthcheck  *struct{ Test []string }
}

// TestImage builds the container image with `make image` (FROM scratch:
// nothing is pulled), runs it with a named volume, and pushes and pulls
// through it with docker; it checks the image's metadata, that the server
// runs as 65532, and that the HEALTHCHECK reports healthy. Its subtests
// share the one daemon and the one image: the compose files, and the walk
// through the documentation (docs_test.go).
func TestImage(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	d := harness.StartDockerd(t)
	src := repoCopy(t)
	toolDir := dockerToolDir(t)
	makeImage(t, d, src, toolDir)
	size, err := strconv.ParseInt(strings.TrimSpace(d.Run("image", "inspect", "--format", "{{.Size}}", testImage)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	checkDocumentedImageSize(t, src, size)

	t.Run("run", func(t *testing.T) { testImageRun(t, d, rootfs) })
	if composeBin, err := exec.LookPath("docker-compose"); err == nil {
		t.Run("compose", func(t *testing.T) { testCompose(t, d, composeBin) })
		t.Run("compose-split", func(t *testing.T) { testComposeSplit(t, d, composeBin, rootfs) })
	} else {
		t.Error("docker-compose not installed: deploy/compose.yml not tested (apt-get install docker-compose)")
	}
	t.Run("docs", func(t *testing.T) { testDocsWalk(t, d, src, toolDir, rootfs) })
}

// testImageRun runs the image as docs/deploy.md describes it.
func testImageRun(t *testing.T, d *harness.Dockerd, rootfs string) {
	var cfg imageConfig
	if err := json.Unmarshal([]byte(d.Run("image", "inspect", "--format", "{{json .Config}}", testImage)), &cfg); err != nil {
		t.Fatal(err)
	}
	want := imageConfig{
		User:         "65532:65532",
		Entrypoint:   []string{"/wharf"},
		Cmd:          []string{"serve"},
		ExposedPorts: map[string]struct{}{"5000/tcp": {}},
		Volumes:      map[string]struct{}{"/var/lib/wharf": {}},
		Healthcheck:  &struct{ Test []string }{Test: []string{"CMD", "/wharf", "health"}},
	}
	got := cfg
	got.Env = nil // checked below: docker adds PATH
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("image config (-want +got):\n%s", diff)
	}
	for _, kv := range []string{"WHARF_DATA=/var/lib/wharf", "WHARF_ADDR=:5000"} {
		if !strings.Contains(strings.Join(cfg.Env, "\n"), kv) {
			t.Errorf("image Env %v lacks %s", cfg.Env, kv)
		}
	}

	// ENTRYPOINT ["/wharf"] + CMD ["serve"]: arguments replace only the command.
	if out := d.Run("run", "--rm", "--network", "none", testImage, "version"); !strings.HasPrefix(out, "wharf ") {
		t.Errorf("docker run IMAGE version printed %q", out)
	}

	addr := harness.FreeLoopbackAddr(t)

	volume := "wharf-e2e-data"
	name := "wharf-e2e"
	d.Run("volume", "create", volume)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := d.TryRun(nil, "logs", "--tail", "60", name)
			t.Logf("container log (last 60 lines):\n%s", out)
		}
		_, _ = d.TryRun(nil, "rm", "-f", "-v", name)
		_, _ = d.TryRun(nil, "volume", "rm", "-f", volume)
	})
	// The image's defaults: HTTPS with a CA generated in the volume.
	d.Run("run", "-d", "--name", name, "--network", "host",
		"-e", "WHARF_ADDR="+addr,
		"-e", "WHARF_ADMIN_PASSWORD="+imagePass,
		"-v", volume+":/var/lib/wharf",
		"--health-interval", "1s", "--health-start-period", "30s",
		testImage)
	mount := strings.TrimSpace(d.Run("volume", "inspect", "--format", "{{.Mountpoint}}", volume))
	caFile := datadir.New(mount).TLSCACert()
	for deadline := time.Now().Add(healthyAfter); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(caFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container wrote no %s within %v", caFile, healthyAfter)
		}
	}
	// docker trusts the generated CA for this registry address only.
	installCA(t, addr, caFile)
	tlsClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: caPool(t, caFile), MinVersion: tls.VersionTLS12}}}
	t.Cleanup(tlsClient.CloseIdleConnections)
	waitHealthz(t, d, tlsClient, name, "https://"+addr+"/healthz")

	// It runs as 65532, not root: in the config and in the kernel.
	if u := strings.TrimSpace(d.Run("inspect", "--format", "{{.Config.User}}", name)); u != "65532:65532" {
		t.Errorf("container .Config.User = %q", u)
	}
	pid := strings.TrimSpace(d.Run("inspect", "--format", "{{.State.Pid}}", name))
	for _, field := range []string{"Uid", "Gid"} {
		ids := procStatusIDs(t, pid, field)
		for _, id := range ids {
			if id != fmt.Sprint(imageUID) {
				t.Errorf("/proc/%s/status %s: %v, want all %d", pid, field, ids, imageUID)
				break
			}
		}
	}
	// The named volume took the image's ownership of /var/lib/wharf.
	for _, p := range []string{mount, datadir.New(mount).Database()} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("volume: %v", err)
			continue
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != imageUID {
			t.Errorf("%s is owned by %d, want %d", p, uid, imageUID)
		}
	}
	// And its mode: 0700, as wharf makes a data directory, so the server
	// does not warn at every start that it is open to others.
	if fi, err := os.Stat(mount); err == nil && fi.Mode().Perm() != datadir.Mode {
		t.Errorf("the volume's /var/lib/wharf has mode %04o, want %04o", fi.Mode().Perm(), datadir.Mode)
	}
	// /var/lib, above it, stays root's: only the data directory is 65532's.
	tr := tar.NewReader(strings.NewReader(d.Run("cp", name+":/var/lib", "-")))
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no lib/ in docker cp's archive of /var/lib: %v", err)
		}
		if h.Name == "lib/" || h.Name == "lib" {
			if h.Uid != 0 || h.Mode&0o777 != 0o755 {
				t.Errorf("/var/lib: uid %d, mode %04o; want 0, 0755", h.Uid, h.Mode&0o777)
			}
			break
		}
	}

	// docker login, push, rmi, pull through the containerised registry.
	if out, err := d.TryRun(strings.NewReader(imagePass), "login", addr, "-u", "admin", "--password-stdin"); err != nil {
		t.Fatalf("docker login: %v\n%s", err, out)
	}
	img := addr + "/e2e/busybox:1"
	d.Run("import", "--change", `CMD ["/bin/sh"]`, rootfs, img)
	out := d.Run("push", img)
	m := pushedDigest.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("docker push printed no digest:\n%s", out)
	}
	d.Run("rmi", img)
	if out := d.Run("pull", img); !strings.Contains(out, m[1]) {
		t.Errorf("docker pull reported a different digest, want %s:\n%s", m[1], out)
	}
	d.Run("logout", addr)

	waitHealthy(t, d, name)
}

// procStatusIDs returns the real, effective, saved and filesystem ids of a
// "Uid:" or "Gid:" line of /proc/PID/status.
func procStatusIDs(t *testing.T, pid, field string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatalf("/proc/%s/status has no %s line", pid, field)
	return nil
}

// waitHealthz polls url until it answers 200, failing early if the
// container stops.
func waitHealthz(t *testing.T, d *harness.Dockerd, client *http.Client, name, url string) {
	t.Helper()
	deadline := time.Now().Add(healthyAfter)
	for {
		res, err := client.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		if state := strings.TrimSpace(d.Run("inspect", "--format", "{{.State.Status}}", name)); state != "running" {
			t.Fatalf("container is %s before answering %s", state, url)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within %v (last error %v)", url, healthyAfter, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitHealthy waits for docker's HEALTHCHECK status of a container to be
// "healthy" (it runs `wharf health` inside the container).
func waitHealthy(t *testing.T, d *harness.Dockerd, name string) {
	t.Helper()
	start := time.Now()
	var status string
	for time.Since(start) < healthyAfter {
		status = strings.TrimSpace(d.Run("inspect", "--format", "{{.State.Health.Status}}", name))
		if status == "healthy" {
			t.Logf("%s healthy after %v", name, time.Since(start).Round(time.Millisecond))
			return
		}
		if status == "unhealthy" {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("health status of %s is %q:\n%s", name, status, d.Run("inspect", "--format", "{{json .State.Health}}", name))
}

// testCompose checks deploy/compose.yml with docker-compose: the file as
// shipped must be valid, and the same service, moved to the host network
// on a free loopback port (this daemon has no bridge, so ports cannot be
// published), runs the image built above and becomes healthy.
func testCompose(t *testing.T, d *harness.Dockerd, composeBin string) {
	root := harness.RepoRoot(t)
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(root, "deploy", "compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "wharf.env"), []byte("WHARF_ADMIN_PASSWORD="+imagePass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	compose := func(file string, args ...string) string {
		t.Helper()
		cmd := exec.Command(composeBin, append([]string{"-f", file, "-p", "wharfe2e"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.Host(), "WHARF_IMAGE="+testImage)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	shipped := filepath.Join(dir, "compose.yml")
	if err := os.WriteFile(shipped, src, 0o644); err != nil {
		t.Fatal(err)
	}
	compose(shipped, "config", "-q")
	// compose-split.yml mounts files relative to itself; config only checks the schema.
	compose(filepath.Join(root, "deploy", "compose-split.yml"), "config", "-q")

	var doc map[string]any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	svc := doc["services"].(map[string]any)["wharf"].(map[string]any)
	addr := harness.FreeLoopbackAddr(t)
	delete(svc, "ports")
	svc["network_mode"] = "host"
	svc["environment"].(map[string]any)["WHARF_ADDR"] = addr
	// HTTPS is exercised above; here plain HTTP keeps the check to the
	// compose wiring (volume, env file, healthcheck, hardening).
	svc["environment"].(map[string]any)["WHARF_TLS"] = "off"
	svc["healthcheck"].(map[string]any)["interval"] = "1s"
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "compose.local.yml")
	if err := os.WriteFile(local, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			cmd := exec.Command(composeBin, "-f", local, "-p", "wharfe2e", "logs", "--tail", "60")
			cmd.Dir, cmd.Env = dir, append(os.Environ(), "DOCKER_HOST="+d.Host(), "WHARF_IMAGE="+testImage)
			out, _ := cmd.CombinedOutput()
			t.Logf("compose logs:\n%s", out)
		}
		cmd := exec.Command(composeBin, "-f", local, "-p", "wharfe2e", "down", "-v", "--timeout", "10")
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "DOCKER_HOST="+d.Host(), "WHARF_IMAGE="+testImage)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("docker-compose down: %v\n%s", err, out)
		}
	})
	start := time.Now()
	compose(local, "up", "-d")
	name := strings.TrimSpace(compose(local, "ps", "-q", "wharf"))
	waitHealthz(t, d, httpClient, name, "http://"+addr+"/healthz")
	waitHealthy(t, d, name)
	t.Logf("compose service healthy %v after up", time.Since(start).Round(time.Millisecond))
	if out, err := d.TryRun(strings.NewReader(imagePass), "login", addr, "-u", "admin", "--password-stdin"); err != nil {
		t.Fatalf("docker login to the compose service: %v\n%s", err, out)
	}
	d.Run("logout", addr)
}

// testComposeSplit runs deploy/compose-split.yml — `wharf registry` and
// `wharf auth` configured the classic way — with certificates from `wharf
// certs init`, moved to the host network on free loopback ports, and logs
// in and pushes through the registry service.
func testComposeSplit(t *testing.T, d *harness.Dockerd, composeBin, rootfs string) {
	root := harness.RepoRoot(t)
	dir := t.TempDir()
	certDir := filepath.Join(dir, "certs")
	if out, err := exec.Command(harness.WharfBinary(t), "certs", "init", "--dir", certDir, "--name", "localhost", "--ip", "127.0.0.1").CombinedOutput(); err != nil {
		t.Fatalf("wharf certs init: %v\n%s", err, out)
	}
	// As the compose file says: the containers' user must read them.
	for _, f := range []string{"", "ca.crt", "ca.key", "server.crt", "server.key", "token.crt", "token.key"} {
		if err := os.Chown(filepath.Join(certDir, f), imageUID, imageUID); err != nil {
			t.Fatal(err)
		}
	}
	// The shipped auth_config.yml, with real hashes for its placeholders.
	authSrc, err := os.ReadFile(filepath.Join(root, "deploy", "auth_config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var authDoc map[string]any
	if err := yaml.Unmarshal(authSrc, &authDoc); err != nil {
		t.Fatal(err)
	}
	authDoc["users"].(map[string]any)["admin"] = map[string]any{"password": bcryptHash(t, imagePass)}
	b, err := yaml.Marshal(authDoc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "auth_config.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}

	src, err := os.ReadFile(filepath.Join(root, "deploy", "compose-split.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	regAddr, authAddr := harness.FreeLoopbackAddr(t), harness.FreeLoopbackAddr(t)
	_, authPort, _ := net.SplitHostPort(authAddr)
	services := doc["services"].(map[string]any)
	reg, auth := services["registry"].(map[string]any), services["auth-server"].(map[string]any)
	for _, svc := range []map[string]any{reg, auth} {
		delete(svc, "ports")
		delete(svc, "depends_on")
		svc["network_mode"] = "host"
		svc["healthcheck"].(map[string]any)["interval"] = "1s"
	}
	env := reg["environment"].(map[string]any)
	env["REGISTRY_HTTP_ADDR"] = regAddr
	env["REGISTRY_AUTH_TOKEN_REALM"] = "https://localhost:" + authPort + "/auth"
	reg["healthcheck"].(map[string]any)["test"] = []string{"CMD", "/wharf", "health", "--url", "https://" + regAddr + "/healthz", "--insecure"}
	auth["command"] = append(toStrings(auth["command"]), "--addr", authAddr)
	auth["healthcheck"].(map[string]any)["test"] = []string{"CMD", "/wharf", "health", "--url", "https://" + authAddr + "/healthz", "--insecure"}
	local := filepath.Join(dir, "compose-split.local.yml")
	if b, err = yaml.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(local, b, 0o644); err != nil {
		t.Fatal(err)
	}
	compose := func(args ...string) (string, error) {
		cmd := exec.Command(composeBin, append([]string{"-f", local, "-p", "wharfsplit"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.Host(), "WHARF_IMAGE="+testImage)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := compose("logs", "--tail", "60")
			t.Logf("compose logs:\n%s", out)
		}
		if out, err := compose("down", "-v", "--timeout", "10"); err != nil {
			t.Errorf("docker-compose down: %v\n%s", err, out)
		}
	})
	if out, err := compose("up", "-d"); err != nil {
		t.Fatalf("docker-compose up: %v\n%s", err, out)
	}
	// Both services healthy, the registry's start-up check of the realm passed.
	for _, svc := range []string{"registry", "auth-server"} {
		out, err := compose("ps", "-q", svc)
		if err != nil {
			t.Fatal(err)
		}
		waitHealthy(t, d, strings.TrimSpace(out))
	}
	installCA(t, regAddr, filepath.Join(certDir, "ca.crt"))
	if out, err := d.TryRun(strings.NewReader(imagePass), "login", regAddr, "-u", "admin", "--password-stdin"); err != nil {
		t.Fatalf("docker login through the split services: %v\n%s", err, out)
	}
	img := regAddr + "/split/busybox:1"
	d.Run("import", rootfs, img)
	d.Run("push", img)
	d.Run("rmi", img)
	d.Run("pull", img)
	d.Run("logout", regAddr)
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}
