package e2e

import (
	"archive/tar"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"wharf/e2e/harness"
	"wharf/internal/testserver"
)

// nginxConf is the gateway of docs/reverse-proxy.md: the classic nginx
// front of a registry (TLS termination, client_max_body_size 0, chunked
// transfer encoding, the X-Forwarded-* headers, the API version header),
// with the changes wharf needs and wants. Lines marked "test only" put
// every file nginx writes under the test's directory and bind the upstream
// connection to 127.0.0.2, so that wharf sees a peer (the proxy, 127.0.0.2)
// that differs from the client (127.0.0.1): the client address in wharf's
// log can then only have come from X-Forwarded-For.
const nginxConf = `# test only: a private nginx with every file under the test's directory
{{USER}}
worker_processes 1;
pid {{DIR}}/nginx.pid;
error_log {{DIR}}/error.log info;
events { worker_connections 256; }

http {
  # test only
  access_log {{DIR}}/access.log;
  client_body_temp_path {{DIR}}/client_body;
  proxy_temp_path {{DIR}}/proxy;
  fastcgi_temp_path {{DIR}}/fastcgi;
  uwsgi_temp_path {{DIR}}/uwsgi;
  scgi_temp_path {{DIR}}/scgi;

  upstream wharf { server {{WHARF}}; }

  # wharf always sends the header; this only covers answers nginx makes itself.
  map $upstream_http_docker_distribution_api_version $docker_distribution_api_version {
    '' 'registry/2.0';
  }

  server {
    listen {{LISTEN}} ssl;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};

    client_max_body_size 0;        # layers have no size limit (else 413)
    chunked_transfer_encoding on;  # docker sends chunked uploads (else 411)

    location / {
      proxy_pass http://wharf;
      proxy_bind 127.0.0.2;        # test only
      # Stream uploads and downloads instead of spooling them to disk.
      proxy_http_version 1.1;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_read_timeout 900;
      proxy_send_timeout 900;
      # $http_host keeps the port the client used; $host would drop it.
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Real-IP $remote_addr;
      add_header Docker-Distribution-Api-Version $docker_distribution_api_version always;
    }
  }
}
`

// caddyFile is the Caddy gateway of docs/reverse-proxy.md. Caddy's
// reverse_proxy passes Host through and sets X-Forwarded-For, -Proto and
// -Host itself (replacing what an untrusted client sent), so no header_up
// line is needed: Caddy 2.6 warns that such lines are unnecessary.
const caddyFile = `{
	# test only: no admin endpoint, no certificate automation, no port 80
	admin off
	auto_https off
}

https://{{LISTEN}} {
	bind 127.0.0.1 # test only: loopback
	tls {{CERT}} {{KEY}}
	reverse_proxy {{WHARF}} {
		flush_interval -1
		transport http {
			read_timeout 15m
			write_timeout 15m
		}
	}
}
`

// TestNginxGateway is the classic stack's nginx gateway in front of
// `wharf serve --tls off`: docker logs in, pushes an image with a 110 MiB
// layer and pulls it back, all through nginx's TLS port.
func TestNginxGateway(t *testing.T) {
	harness.SkipIfShort(t)
	nginxBin := harness.RequireTool(t, "nginx", "/usr/sbin/nginx")
	d := harness.StartDockerd(t)
	// The peer wharf sees is nginx's proxy_bind address, and only that is
	// trusted: 127.0.0.1 (the real client) is not a proxy.
	w := startProxiedWharf(t, "127.0.0.2")
	defer checkRequestIDs(t, w) // every warning and error of a request carries its id
	pki := newTestPKI(t)
	gw := startGateway(t, "nginx", nginxConf, w.Addr(), pki, func(conf string) *exec.Cmd {
		return exec.Command(nginxBin, "-p", filepath.Dir(conf), "-c", conf, "-e", filepath.Join(filepath.Dir(conf), "error.log"), "-g", "daemon off;")
	})
	host := gw.addr
	client := pki.client()

	t.Run("challenge names the public realm", func(t *testing.T) {
		checkChallenge(t, client, host)
	})
	t.Run("old docker clients get 404", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "https://"+host+"/v2/", nil)
		req.Header.Set("User-Agent", "docker/1.4.1 go/go1.3.3 git-commit/5bc2ff8 kernel/3.16 os/linux arch/amd64")
		res := sendVia(t, client, req)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET /v2/ as docker 1.4: status %d, want 404", res.StatusCode)
		}
		if got := res.Header.Values("Docker-Distribution-Api-Version"); len(got) != 1 || got[0] != "registry/2.0" {
			t.Errorf("Docker-Distribution-Api-Version = %q, want one registry/2.0", got)
		}
	})
	t.Run("headers from an untrusted peer are ignored", func(t *testing.T) {
		// Straight to wharf: 127.0.0.1 is not a trusted proxy.
		req, _ := http.NewRequest(http.MethodGet, w.URL()+"/v2/", nil)
		req.Header.Set("X-Forwarded-For", "6.6.6.6")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "evil.example")
		res := sendVia(t, httpClient, req)
		if want := `realm="http://` + w.Addr() + `/auth/token"`; !strings.Contains(res.Header.Get("Www-Authenticate"), want) {
			t.Errorf("WWW-Authenticate %q, want %s", res.Header.Get("Www-Authenticate"), want)
		}
	})

	installDockerCA(t, host, pki.caPEM)
	rootfs := bigRootfs(t, 110<<20)
	image := host + "/e2e/big:1"
	d.Run("import", rootfs, image)
	layers := strings.TrimSpace(d.Run("image", "inspect", "--format", "{{json .RootFS.Layers}}", image))

	if out, err := d.TryRun(strings.NewReader("wrong"), "login", "-u", "admin", "--password-stdin", host); err == nil {
		t.Fatalf("docker login through nginx with a wrong password succeeded:\n%s", out)
	}
	if out, err := d.TryRun(strings.NewReader(adminPassword), "login", "-u", "admin", "--password-stdin", host); err != nil {
		t.Fatalf("docker login through nginx: %v\n%s", err, out)
	}
	start := time.Now()
	d.Run("push", image)
	push := time.Since(start)
	d.Run("rmi", image)
	start = time.Now()
	d.Run("pull", image)
	pull := time.Since(start)
	if got := strings.TrimSpace(d.Run("image", "inspect", "--format", "{{json .RootFS.Layers}}", image)); got != layers {
		t.Errorf("pulled image has layers %s, pushed %s", got, layers)
	}
	t.Logf("110 MiB layer through nginx: push %v, pull %v", push.Round(time.Millisecond), pull.Round(time.Millisecond))
	checkUIBehindProxy(t, client, "https://"+host, "admin", adminPassword, "e2e/big")

	// wharf's log names the client (127.0.0.1, from X-Forwarded-For), not
	// the proxy (127.0.0.2), in the access log and the token server's lines.
	log := w.Log()
	viaProxy := regexp.MustCompile(`(?m)^.*msg=request .*remote=127\.0\.0\.1:0 .*$`)
	if n := len(viaProxy.FindAllString(log, -1)); n < 10 {
		t.Errorf("%d access log lines with remote=127.0.0.1:0, want the whole push and pull", n)
	}
	if strings.Contains(log, "remote=127.0.0.2") || strings.Contains(log, "6.6.6.6") {
		t.Errorf("wharf's log names the proxy or a forged address as the client:\n%s", grepLines(log, "127.0.0.2", "6.6.6.6"))
	}
	if !regexp.MustCompile(`msg="login failed" .*ip=127\.0\.0\.1( |$)`).MatchString(log) {
		t.Errorf("no failed-login line with ip=127.0.0.1:\n%s", grepLines(log, "login failed"))
	}
	if !regexp.MustCompile(`msg="token scope" .*account=admin .*ip=127\.0\.0\.1 `).MatchString(log) {
		t.Errorf("no token line for admin with ip=127.0.0.1:\n%s", grepLines(log, "token scope"))
	}
}

// TestCaddyGateway puts Caddy (Debian's caddy) in front of wharf, as
// docs/reverse-proxy.md shows, and pushes and pulls through it with
// go-containerregistry verifying the TLS certificate.
func TestCaddyGateway(t *testing.T) {
	harness.SkipIfShort(t)
	caddyBin := harness.RequireTool(t, "caddy", "/usr/bin/caddy")
	w := startProxiedWharf(t, "127.0.0.1")
	defer checkRequestIDs(t, w) // every warning and error of a request carries its id
	pki := newTestPKI(t)
	gw := startGateway(t, "caddy", caddyFile, w.Addr(), pki, func(conf string) *exec.Cmd {
		cmd := exec.Command(caddyBin, "run", "--config", conf, "--adapter", "caddyfile")
		dir := filepath.Dir(conf)
		cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
		return cmd
	})
	host := gw.addr
	client := pki.client()
	checkChallenge(t, client, host)

	// Caddy replaces a client's X-Forwarded-For (it trusts no one by
	// default), so a forged address never reaches wharf.
	req, _ := http.NewRequest(http.MethodGet, "https://"+host+"/v2/", nil)
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	sendVia(t, client, req)

	ctx := testContext(t, 3*time.Minute)
	img, err := random.Image(4<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/e2e/caddy:1", name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(client.Transport),
		remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword})}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("push through caddy: %v", err)
	}
	back, err := remote.Image(ref, opts...)
	if err != nil {
		t.Fatalf("pull through caddy: %v", err)
	}
	if err := validate.Image(back); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(w.Log(), "6.6.6.6") {
		t.Errorf("a forged X-Forwarded-For reached wharf through caddy:\n%s", grepLines(w.Log(), "6.6.6.6"))
	}
}

// startProxiedWharf starts `wharf serve --tls off` with token auth and the
// classic users and ACL (as startTokenWharf), trusting proxies at trusted.
func startProxiedWharf(t *testing.T, trusted string) *harness.Wharf {
	t.Helper()
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(authConfig, bcryptHash(t, adminPassword), bcryptHash(t, testPassword)))
	return harness.StartWharf(t, "--config", cfg, "--auth", "token", "--trusted-proxies", trusted)
}

// checkChallenge asks the gateway for /v2/ and expects wharf's token
// challenge to name the gateway's public scheme, host and port, and one
// Docker-Distribution-Api-Version header.
func checkChallenge(t *testing.T, client *http.Client, host string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "https://"+host+"/v2/", nil)
	res := sendVia(t, client, req)
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET https://%s/v2/: status %d, want 401", host, res.StatusCode)
	}
	want := `Bearer realm="https://` + host + `/auth/token",service=`
	if got := res.Header.Get("Www-Authenticate"); !strings.HasPrefix(got, want) {
		t.Errorf("WWW-Authenticate through the gateway = %q, want it to start with %s", got, want)
	}
	if got := res.Header.Values("Docker-Distribution-Api-Version"); len(got) != 1 || got[0] != "registry/2.0" {
		t.Errorf("Docker-Distribution-Api-Version = %q, want one registry/2.0", got)
	}
}

func sendVia(t *testing.T, client *http.Client, req *http.Request) *http.Response {
	t.Helper()
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxBody))
	res.Body.Close()
	return res
}

func grepLines(log string, words ...string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// gateway is a reverse proxy process started by a test.
type gateway struct {
	addr string // 127.0.0.1:PORT, its TLS port
	dir  string
}

// startGateway writes conf (with {{DIR}}, {{LISTEN}}, {{WHARF}}, {{CERT}},
// {{KEY}} and {{USER}} filled in) and starts the proxy in the foreground on
// a free loopback port; a port taken between choosing and binding it is
// retried. The proxy is stopped at cleanup, and its logs are printed if the
// test failed.
func startGateway(t *testing.T, kind, conf, upstream string, pki testPKI, command func(conf string) *exec.Cmd) *gateway {
	t.Helper()
	var lastErr error
	for attempt := range 3 {
		dir := t.TempDir()
		port := freePort(t)
		user := ""
		if os.Geteuid() == 0 {
			// nginx's workers would run as nobody and could not write
			// their temporary files under the test's directory.
			user = "user root;"
		}
		text := strings.NewReplacer("{{DIR}}", dir, "{{LISTEN}}", "127.0.0.1:"+strconv.Itoa(port), "{{WHARF}}", upstream,
			"{{CERT}}", pki.certPath, "{{KEY}}", pki.keyPath, "{{USER}}", user).Replace(conf)
		path := filepath.Join(dir, kind+".conf")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dir, kind+".out"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := command(path)
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			out.Close()
			t.Fatalf("start %s: %v", kind, err)
		}
		out.Close()
		done := make(chan struct{})
		var waitErr error
		go func() { waitErr = cmd.Wait(); close(done) }()
		g := &gateway{addr: "127.0.0.1:" + strconv.Itoa(port), dir: dir}
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Errorf("%s did not stop within 15s of SIGTERM; killing it", kind)
				_ = cmd.Process.Kill()
				<-done
			}
		}
		if lastErr = waitListening(g.addr, done, &waitErr, 30*time.Second); lastErr == nil {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("%s logs:\n%s", kind, g.logs())
				}
			})
			t.Logf("%s listens on %s (attempt %d)", kind, g.addr, attempt+1)
			return g
		}
		stop()
		logs := g.logs()
		if !strings.Contains(logs, "in use") {
			t.Fatalf("%s did not start: %v\n%s", kind, lastErr, logs)
		}
	}
	t.Fatalf("%s did not start: %v", kind, lastErr)
	return nil
}

// logs returns every log file of the gateway.
func (g *gateway) logs() string {
	var b strings.Builder
	for _, f := range []string{"nginx.out", "error.log", "access.log", "caddy.out"} {
		if data, err := os.ReadFile(filepath.Join(g.dir, f)); err == nil {
			fmt.Fprintf(&b, "----- %s -----\n%s\n", f, tailString(string(data), 60))
		}
	}
	return b.String()
}

func tailString(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func waitListening(addr string, exited <-chan struct{}, waitErr *error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before listening: %v", *waitErr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %v", addr, timeout)
		}
	}
}

// freePort is a free loopback port, for servers that cannot report theirs.
func freePort(t *testing.T) int { return testserver.FreePort(t) }

// testPKI is a throwaway CA and a server certificate for 127.0.0.1 signed
// by it, written to a temporary directory.
type testPKI struct {
	caPEM             []byte
	pool              *x509.CertPool
	certPath, keyPath string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wharf e2e test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := testPKI{
		caPEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pool:     x509.NewCertPool(),
		certPath: filepath.Join(dir, "server.crt"),
		keyPath:  filepath.Join(dir, "server.key"),
	}
	p.pool.AddCert(ca)
	if err := os.WriteFile(p.certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// client is an HTTP client that trusts only the test CA.
func (p testPKI) client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
}

// installDockerCA makes docker trust the test CA for host (HOST:PORT) only:
// /etc/docker/certs.d/HOST:PORT/ca.crt, which the daemon reads on each
// connection. Removed at cleanup, with certs.d itself if the test made it.
func installDockerCA(t *testing.T, host string, caPEM []byte) {
	t.Helper()
	certsD := "/etc/docker/certs.d"
	_, statErr := os.Stat(certsD)
	dir := filepath.Join(certsD, host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("cannot install the test CA for docker in %s (the test needs root): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
		if errors.Is(statErr, os.ErrNotExist) {
			_ = os.Remove(certsD) // only if empty
		}
	})
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
}

// bigRootfs writes a root filesystem tarball holding one file of size
// pseudo-random (incompressible) bytes.
func bigRootfs(t *testing.T, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big-rootfs.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	hdr := &tar.Header{Name: "big.bin", Typeflag: tar.TypeReg, Mode: 0o644, Size: size, ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(tw, keystream(110, size)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
