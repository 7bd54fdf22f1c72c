package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"wharf/e2e/harness"
	"wharf/internal/testserver"
)

// replaceAll replaces every old with new in s, failing the test when old
// is not there: the test follows the file it adapts, and breaks when the
// file changes shape.
func replaceAll(t *testing.T, what, s string, pairs ...string) string {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("%s no longer contains %q", what, pairs[i])
		}
		s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
	}
	return s
}

// TestDeployHAReplicasBehindNginx runs the reference deployment's own
// files: two `wharf serve` replicas configured by deploy/wharf-ha.yml (only
// paths, addresses and the public name changed) sharing a real PostgreSQL,
// one blob directory and the token key of `wharf certs init`, behind a real
// nginx configured by deploy/nginx-ha.conf. An image pushed through nginx
// pulls through it; a token issued by one replica is accepted by the
// other, both ways, and each serves the image; both are ready on /readyz.
func TestDeployHAReplicasBehindNginx(t *testing.T) {
	harness.SkipIfShort(t)
	t.Parallel()
	nginxBin := harness.RequireTool(t, "nginx", "/usr/sbin/nginx")
	ctx := testContext(t, 5*time.Minute)
	pg := testserver.StartPostgres(t)
	// The bucket wharf-ha.yml names, which compose-ha.yml's s3 service
	// creates.
	s3 := testserver.StartVersityGW(t, "wharf")
	deploy := filepath.Join(harness.RepoRoot(t), "deploy")

	certs := filepath.Join(t.TempDir(), "certs")
	if code, out := runWharf(t, "certs", "init", "--dir", certs, "--name", "127.0.0.1"); code != 0 {
		t.Fatalf("wharf certs init: exit %d\n%s", code, out)
	}
	yml, err := os.ReadFile(filepath.Join(deploy, "wharf-ha.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "wharf.yml")
	cfg := replaceAll(t, "deploy/wharf-ha.yml", string(yml),
		"/etc/wharf/certs/", certs+"/",
		`trusted_proxies: ["172.16.0.0/12", "10.0.0.0/8", "192.168.0.0/16"]`, `trusted_proxies: ["127.0.0.0/8"]`,
		// The challenge then names nginx's address, from X-Forwarded-Host.
		"realm: https://registry.example.com/auth/token", `realm: ""`,
		"regionendpoint: http://s3:7070", "regionendpoint: "+s3.Endpoint)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	// Each replica has a data directory of its own; the environment is
	// ha.env's.
	const adminPW = "the admin password of every replica"
	env := []string{"WHARF_DATABASE_DSN=" + pg.DSN, "WHARF_ADMIN_PASSWORD=" + adminPW,
		"AWS_ACCESS_KEY_ID=" + s3.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3.SecretKey,
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent"}
	var replicas []*harness.Wharf
	for range 2 {
		data := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(data, 0o700); err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, harness.StartWharfCommand(t, env, "serve", "--config", cfgPath, "--addr", "127.0.0.1:0", "--data", data))
	}
	a, b := replicas[0], replicas[1]

	conf, err := os.ReadFile(filepath.Join(deploy, "nginx-ha.conf"))
	if err != nil {
		t.Fatal(err)
	}
	server := replaceAll(t, "deploy/nginx-ha.conf", string(conf),
		"server wharf:5000;", "server "+a.Addr()+";\n  server "+b.Addr()+";",
		"listen 443 ssl;", "listen {{LISTEN}} ssl;",
		"/etc/nginx/certs/server.crt", "{{CERT}}",
		"/etc/nginx/certs/server.key", "{{KEY}}")
	// The frame the nginx image's own nginx.conf gives conf.d: the test
	// gateway's, with every file under the test's directory.
	frame := nginxConf[:strings.Index(nginxConf, "  upstream wharf")]
	main := frame + server + "}\n"
	pki := newTestPKI(t)
	gw := startGateway(t, "nginx", main, "", pki, func(conf string) *exec.Cmd {
		return exec.Command(nginxBin, "-p", filepath.Dir(conf), "-c", conf, "-e", filepath.Join(filepath.Dir(conf), "error.log"), "-g", "daemon off;")
	})
	client := pki.client()
	t.Cleanup(client.CloseIdleConnections)

	admin := remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPW})
	through := []remote.Option{remote.WithContext(ctx), remote.WithTransport(client.Transport), admin}
	img, err := random.Image(256<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	viaNginx, err := name.ParseReference(gw.addr + "/team/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(viaNginx, img, through...); err != nil {
		t.Fatalf("push through nginx: %v\nA:\n%s\nB:\n%s", err, a.Log(), b.Log())
	}
	got, err := remote.Image(viaNginx, through...)
	if err != nil {
		t.Fatalf("pull through nginx: %v", err)
	}
	if d, _ := got.Digest(); d != mustDigest(t, img) {
		t.Errorf("pull through nginx: %s, want %s", d, mustDigest(t, img))
	}

	// A token of one replica opens the other's door, both ways.
	for _, pair := range [][2]*harness.Wharf{{a, b}, {b, a}} {
		issuer, verifier := pair[0], pair[1]
		token := replicaToken(t, issuer, adminPW, "repository:team/app:pull")
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, verifier.URL()+"/v2/team/app/manifests/1", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
		res := sendVia(t, httpClient, req)
		if res.StatusCode != http.StatusOK || res.Header.Get("Docker-Content-Digest") != mustDigest(t, img).String() {
			t.Errorf("manifest from %s with a token of %s: status %d, digest %q", verifier.Addr(), issuer.Addr(), res.StatusCode, res.Header.Get("Docker-Content-Digest"))
		}
	}
	for _, w := range replicas {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.URL()+"/readyz", nil)
		if res := sendVia(t, httpClient, req); res.StatusCode != http.StatusOK {
			t.Errorf("%s/readyz: status %d", w.URL(), res.StatusCode)
		}
		if n := countFiles(t, filepath.Join(w.DataDir(), "blobs")); n != 0 {
			t.Errorf("replica %s keeps %d blob files of its own", w.Addr(), n)
		}
	}
	// 3 layers and a config, in the bucket (versitygw's posix backend
	// keeps an object as a file named by its key).
	if n := countFiles(t, filepath.Join(s3.Dir, "wharf", "blobs")); n < 4 {
		t.Errorf("the bucket holds %d blobs, want at least 4", n)
	}

	t.Run("docker login, push and pull through nginx", func(t *testing.T) {
		d := harness.StartDockerd(t)
		installDockerCA(t, gw.addr, pki.caPEM)
		image := gw.addr + "/team/busybox:1"
		d.Run("import", "--change", `CMD ["/bin/sh"]`, busyboxRootfs(t), image)
		id := strings.TrimSpace(d.Run("image", "inspect", "--format", "{{.Id}}", image))
		if out, err := d.TryRun(strings.NewReader(adminPW), "login", "-u", "admin", "--password-stdin", gw.addr); err != nil {
			t.Fatalf("docker login through nginx: %v\n%s", err, out)
		}
		d.Run("push", image)
		d.Run("rmi", image)
		d.Run("pull", image)
		if got := strings.TrimSpace(d.Run("image", "inspect", "--format", "{{.Id}}", image)); got != id {
			t.Errorf("image pulled through nginx is %s, pushed %s", got, id)
		}
		// Round robin sent the client's requests, token requests among
		// them, to both replicas.
		for _, w := range replicas {
			if !strings.Contains(w.Log(), "team/busybox") {
				t.Errorf("replica %s served none of docker's requests: nginx did not balance", w.Addr())
			}
		}
	})

	t.Run("a chunked upload alternating between replicas", func(t *testing.T) {
		chunkedAcross(t, "team/chunked", replicaToken(t, a, adminPW, "repository:team/chunked:push,pull"), a, b)
	})

	t.Run("a user added on one replica logs in on the other at once", func(t *testing.T) {
		const pw = "bob's password on every replica"
		api := adminClient{t: t, base: a.URL() + "/api/v1"}
		api.must(http.StatusCreated, basicAuth("admin", adminPW), "POST", "/users", map[string]any{"name": "bob", "password": pw}, nil)
		if tok, _ := tokenFor(t, b.URL()+"/auth/token", "wharf", "", "bob", pw); tok == "" {
			t.Error("B issued bob no token")
		}
	})

	t.Run("a replica killed during a push", func(t *testing.T) {
		killDuringPush(t, a, viaNginx.Context().Registry, through)
		errs, _ := os.ReadFile(filepath.Join(gw.dir, "error.log"))
		t.Logf("nginx's error log after the kill: %d lines naming the killed replica", strings.Count(string(errs), a.Addr()))
		env := append(env, "WHARF_LOG_LEVEL=warn")
		status, rep, stderr := runFsckEnv(t, env, a.DataDir(), "--config", cfgPath)
		if status != 0 || len(rep.Problems) != 0 || rep.Blobs == 0 {
			t.Errorf("wharf fsck after the kill: exit %d, %d blobs, problems %+v\n%s", status, rep.Blobs, rep.Problems, stderr)
		}
	})
}

// killDuringPush pushes images one after the other through the balancer
// (repo's registry) and kills victim with SIGKILL once a request of the
// third push reached it. The client's retries, which the balancer sends to
// the replica left, must complete every push, and every image acknowledged
// must then pull through the balancer with its digest and verify.
func killDuringPush(t *testing.T, victim *harness.Wharf, registry name.Registry, opts []remote.Option) {
	t.Helper()
	const n = 6
	type pushed struct {
		ref name.Reference
		img v1.Image
		err error
	}
	done := make(chan pushed, n)
	go func() {
		for i := range n {
			img, err := random.Image(2<<20, 3)
			if err != nil {
				done <- pushed{err: err}
				continue
			}
			r := registry.Repo(fmt.Sprintf("team/kill%d", i)).Tag("1")
			done <- pushed{r, img, remote.Write(r, img, opts...)}
		}
	}()
	var acked []pushed
	killed := false
	for len(acked) < n {
		select {
		case p := <-done:
			if p.err != nil {
				t.Errorf("push %v: %v (the client's retries did not reach the other replica)", p.ref, p.err)
			}
			acked = append(acked, p)
		case <-time.After(5 * time.Millisecond):
		}
		if !killed && len(acked) >= 2 && strings.Contains(victim.Log(), "team/kill2") {
			victim.Kill9()
			killed = true
			t.Logf("killed replica %s during the push of team/kill2", victim.Addr())
		}
	}
	if !killed {
		t.Fatal("no request of the third push reached the replica: the test killed nothing")
	}
	for _, p := range acked {
		if p.err != nil {
			continue
		}
		got, err := remote.Image(p.ref, opts...)
		if err == nil {
			err = validate.Image(got)
		}
		if err != nil {
			t.Errorf("pull %v, acknowledged before or after the kill: %v", p.ref, err)
			continue
		}
		if d, _ := got.Digest(); d != mustDigest(t, p.img) {
			t.Errorf("pull %v: %s, want %s", p.ref, d, mustDigest(t, p.img))
		}
	}
}

// replicaToken asks one replica's token endpoint for a token for scope,
// as admin.
func replicaToken(t *testing.T, w *harness.Wharf, password, scope string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.URL()+"/v2/", nil)
	res := sendVia(t, httpClient, req)
	m := regexp.MustCompile(`realm="([^"]+)",service="([^"]+)"`).FindStringSubmatch(res.Header.Get("Www-Authenticate"))
	if m == nil {
		t.Fatalf("%s: no token challenge: %q", w.Addr(), res.Header.Get("Www-Authenticate"))
	}
	req, _ = http.NewRequest(http.MethodGet, m[1]+"?service="+m[2]+"&scope="+scope, nil)
	req.SetBasicAuth("admin", password)
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.Token == "" {
		t.Fatalf("token from %s: status %d, %v", w.Addr(), res.StatusCode, err)
	}
	return body.Token
}
