package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"

	"wharf/e2e/harness"
)

// layeredImage is an image of base's layers plus n new random 64 KiB ones.
func layeredImage(t *testing.T, base v1.Image, n int) v1.Image {
	t.Helper()
	img := base
	for range n {
		l, err := random.Layer(64<<10, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// imageBytes is what an image counts in a repository's usage: its config,
// its layers and its manifest.
func imageBytes(t *testing.T, img v1.Image) int64 {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	n := m.Config.Size + int64(len(raw))
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

// registryError returns the first OCI error of a go-containerregistry call.
func registryError(t *testing.T, what string, err error) (status int, code, message string) {
	t.Helper()
	var te *transport.Error
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		t.Fatalf("%s: %v, want an OCI error", what, err)
	}
	return te.StatusCode, string(te.Errors[0].Code), te.Errors[0].Message
}

// TestQuotaAndRepoRm pushes with crane's library into a namespace with a
// quota: shared layers count once, the push that would exceed it is
// refused with DENIED naming the quota and the usage, `wharf repo ls` shows
// the deduplicated sizes, `wharf repo rm` (run beside the server) makes
// pulls fail with MANIFEST_UNKNOWN and frees the quota for the next push.
func TestQuotaAndRepoRm(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(cfg, []byte("quotas:\n  - {repositories: \"team/*\", bytes: 400KiB}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := harness.StartWharf(t, "--config", cfg)
	ctx := testContext(t, 2*time.Minute)
	push := func(repo string, img v1.Image) error {
		return remote.Write(ref(t, w, repo), img, remoteOpts(ctx)...)
	}

	app := layeredImage(t, empty.Image, 2)
	if err := push("team/app:v1", app); err != nil {
		t.Fatalf("push team/app: %v", err)
	}
	// team/db shares app's two layers and adds one.
	db := layeredImage(t, app, 1)
	if err := push("team/db:v1", db); err != nil {
		t.Fatalf("push team/db sharing layers: %v", err)
	}
	web := layeredImage(t, empty.Image, 4)
	err := push("team/web:v1", web)
	status, code, msg := registryError(t, "push over the quota", err)
	if status != 403 || code != "DENIED" || !strings.Contains(msg, `quota "team/*" of 400 KiB exceeded`) || !strings.Contains(msg, "use ") {
		t.Errorf("push over the quota: %d %s %q", status, code, msg)
	}
	if !strings.Contains(w.Log(), "push refused by quota") {
		t.Errorf("no log line for the refusal:\n%s", w.Log())
	}
	// A blob that alone is over the limit is refused before it is read.
	huge := bytes.Repeat([]byte("x"), 500<<10)
	res, err := httpClient.Post(w.URL()+"/v2/team/huge/blobs/uploads/?digest="+digest.FromBytes(huge).String(),
		"application/octet-stream", bytes.NewReader(huge))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 403 || !strings.Contains(string(body), "DENIED") || !strings.Contains(string(body), "this blob alone is 500 KiB") {
		t.Errorf("monolithic upload over the quota: %d %s", res.StatusCode, body)
	}
	// Outside the namespace, nothing is limited; the server kept serving.
	if err := push("other/web:v1", web); err != nil {
		t.Fatalf("push outside the quota: %v", err)
	}

	// Sizes, deduplicated: the namespace counts app's layers once.
	code2, out := runWharf(t, "repo", "ls", "--namespaces", "--json", "--data", w.DataDir())
	var ns []struct {
		Namespace string `json:"namespace"`
		Bytes     int64  `json:"bytes"`
	}
	if err := json.Unmarshal([]byte(out), &ns); code2 != 0 || err != nil || len(ns) != 2 {
		t.Fatalf("repo ls --namespaces: %d %v\n%s", code2, err, out)
	}
	appLayers := imageBytes(t, app)
	dbBytes := imageBytes(t, db)
	appManifest, _ := app.RawManifest()
	appConfig, _ := app.Manifest()
	// db's bytes hold app's layers; app adds only its own config and manifest.
	want := dbBytes + int64(len(appManifest)) + appConfig.Config.Size
	if ns[1].Namespace != "team/" || ns[1].Bytes != want {
		t.Errorf("team/ uses %d bytes, want %d (app %d, db %d)", ns[1].Bytes, want, appLayers, dbBytes)
	}

	// repo rm beside the running server, then pulls fail.
	code2, out = runWharf(t, "repo", "rm", "team/app", "team/db", "--data", w.DataDir())
	if code2 != 1 || !strings.Contains(out, "--yes") {
		t.Errorf("repo rm without --yes and without a terminal: %d %s", code2, out)
	}
	// On a terminal (script(1) gives it one) it asks; "n" keeps them.
	onTerminal := func(answer string) string {
		script := harness.RequireTool(t, "script")
		cmd := exec.Command(script, "-qec", harness.WharfBinary(t)+" repo rm team/app team/db --data "+w.DataDir(), "/dev/null")
		cmd.Stdin = strings.NewReader(answer + "\n")
		cmd.Env = withoutPrefix(os.Environ(), "WHARF_")
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	if out := onTerminal("n"); !strings.Contains(out, "Delete team/app, team/db with all their tags and manifests? [y/N]") || !strings.Contains(out, "nothing deleted") {
		t.Errorf("repo rm answered n:\n%s", out)
	}
	if _, err := remote.Image(ref(t, w, "team/app:v1"), remoteOpts(ctx)...); err != nil {
		t.Fatalf("pull after repo rm was declined: %v", err)
	}
	out = onTerminal("y")
	if !strings.Contains(out, "deleted team/app") || !strings.Contains(out, "deleted team/db") || !strings.Contains(out, "garbage collection") {
		t.Fatalf("repo rm answered y:\n%s", out)
	}
	_, err = remote.Image(ref(t, w, "team/app:v1"), remoteOpts(ctx)...)
	if status, code, _ := registryError(t, "pull after repo rm", err); status != 404 || (code != "MANIFEST_UNKNOWN" && code != "NAME_UNKNOWN") {
		t.Errorf("pull after repo rm: %d %s", status, code)
	}
	dbDigest, _ := db.Digest()
	_, err = remote.Image(ref(t, w, "team/db@"+dbDigest.String()), remoteOpts(ctx)...)
	if status, _, _ := registryError(t, "pull by digest after repo rm", err); status != 404 {
		t.Errorf("pull by digest after repo rm: %d", status)
	}
	// The space is free for the push refused before, at once.
	if err := push("team/web:v1", web); err != nil {
		t.Errorf("push after repo rm freed the quota: %v", err)
	}
}

// TestAdminAPIRepositories goes through the whole server (edge, token
// auth): a name's slash written %2F reaches the route, a tag and a
// repository are deleted, and pulls then fail.
func TestAdminAPIRepositories(t *testing.T) {
	harness.SkipIfShort(t)
	t.Parallel()
	const adminPW = "the admin's e2e password"
	w := harness.StartWharfCommand(t, []string{"WHARF_ADMIN_PASSWORD=" + adminPW},
		"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--auth", "token", "--tls", "off")
	t.Cleanup(httpClient.CloseIdleConnections)
	api := adminClient{t: t, base: w.URL() + "/api/v1"}
	ctx := testContext(t, 2*time.Minute)
	admin := basicAuth("admin", adminPW)
	creds := remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPW})
	img := layeredImage(t, empty.Image, 1)
	for _, tag := range []string{"v1", "latest"} {
		if err := remote.Write(ref(t, w, "team/app:"+tag), img, remoteOpts(ctx, creds)...); err != nil {
			t.Fatalf("push: %v", err)
		}
	}

	var list struct {
		Repositories []struct {
			Name  string `json:"name"`
			Tags  int64  `json:"tags"`
			Bytes int64  `json:"bytes"`
		} `json:"repositories"`
	}
	api.must(http.StatusOK, admin, "GET", "/repositories?prefix=team/", nil, &list)
	if len(list.Repositories) != 1 || list.Repositories[0].Name != "team/app" || list.Repositories[0].Tags != 2 ||
		list.Repositories[0].Bytes != imageBytes(t, img) {
		t.Fatalf("GET /repositories: %+v, want team/app with 2 tags and %d bytes", list, imageBytes(t, img))
	}
	var detail struct {
		Tags []struct {
			Name   string `json:"name"`
			Digest string `json:"digest"`
		} `json:"tags"`
	}
	api.must(http.StatusOK, admin, "GET", "/repositories/team%2Fapp", nil, &detail)
	d, _ := img.Digest()
	if len(detail.Tags) != 2 || detail.Tags[1].Name != "v1" || detail.Tags[1].Digest != d.String() {
		t.Errorf("GET /repositories/team%%2Fapp: %+v", detail)
	}

	api.must(http.StatusNoContent, admin, "DELETE", "/repositories/team%2Fapp/tags/v1", nil, nil)
	_, err := remote.Image(ref(t, w, "team/app:v1"), remoteOpts(ctx, creds)...)
	if status, code, _ := registryError(t, "pull of a deleted tag", err); status != 404 || code != "MANIFEST_UNKNOWN" {
		t.Errorf("pull of a deleted tag: %d %s", status, code)
	}
	api.must(http.StatusOK, admin, "DELETE", "/repositories/team%2Fapp", nil, nil)
	_, err = remote.Image(ref(t, w, "team/app:latest"), remoteOpts(ctx, creds)...)
	if status, code, _ := registryError(t, "pull of a deleted repository", err); status != 404 || (code != "MANIFEST_UNKNOWN" && code != "NAME_UNKNOWN") {
		t.Errorf("pull of a deleted repository: %d %s", status, code)
	}
	api.must(http.StatusNotFound, admin, "GET", "/repositories/team%2Fapp", nil, nil)
	if !strings.Contains(w.Log(), "repository deleted") {
		t.Errorf("no audit line for the delete")
	}
}

// TestDockerQuota: the real docker CLI shows both refusals, naming the
// quota: the manifest that would take the namespace over its limit, and a
// layer that alone is larger than the limit.
func TestDockerQuota(t *testing.T) {
	harness.SkipIfShort(t)
	const limit = 1 << 20
	cfg := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("quotas:\n  - {repositories: \"e2e/*\", bytes: %d}\n", limit)), 0o600); err != nil {
		t.Fatal(err)
	}
	d := harness.StartDockerd(t)
	w := startWharf(t, "--config", cfg)
	// Random bytes do not compress: each layer is about its file's size.
	image := func(repo string, size int64) string {
		tarball := filepath.Join(t.TempDir(), "layer.tar")
		writeRandomTar(t, tarball, size)
		ref := w.Addr() + "/" + repo
		d.Run("import", tarball, ref)
		return ref
	}
	d.Run("push", image("e2e/a:1", 600<<10))
	out, err := d.TryRun(nil, "push", image("e2e/b:1", 600<<10))
	if err == nil || !strings.Contains(out, `denied: quota "e2e/*" of 1.0 MiB exceeded: its repositories use 60`) {
		t.Errorf("docker push taking the namespace over its quota: %v\n%s", err, out)
	}
	t.Logf("docker push over the quota printed:\n%s", out)
	out, err = d.TryRun(nil, "push", image("e2e/c:1", limit+128<<10))
	if err == nil || !strings.Contains(out, `denied: quota "e2e/*" of 1.0 MiB: this blob alone is 1.1 MiB`) {
		t.Errorf("docker push of a layer larger than the quota: %v\n%s", err, out)
	}
	t.Logf("docker push of a layer larger than the quota printed:\n%s", out)
}

// writeRandomTar writes a tarball holding one file of n random bytes.
func writeRandomTar(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := tw.WriteHeader(&tar.Header{Name: "data.bin", Typeflag: tar.TypeReg, Mode: 0o644, Size: n, ModTime: time.Unix(1700000000, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, rand.Reader, n); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}
