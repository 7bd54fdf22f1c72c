package e2e

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"golang.org/x/crypto/bcrypt"

	"wharf/e2e/harness"
	"wharf/internal/auth/token"
)

// signingPair writes a fresh key and self-signed certificate, as the
// classic stack's openssl recipe would, and returns their paths.
func signingPair(t *testing.T, kind token.KeyKind, name string) (key crypto.Signer, cert *x509.Certificate, keyPath, certPath string) {
	t.Helper()
	key, err := token.GenerateKey(kind)
	if err != nil {
		t.Fatal(err)
	}
	cert, err = token.SelfSignedCert(key, name, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := token.EncodePrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPath, certPath = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".crt")
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, token.EncodeCertificatesPEM(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return key, cert, keyPath, certPath
}

func bcryptHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// distributionBehindWharfAuth starts `wharf auth` reading a docker_auth
// configuration (admin may do anything, test may pull, anyone logged in may
// pull, the anonymous account may pull hello-world) and the real
// distribution registry verifying its tokens. realmHost, when set, names
// the token endpoint's host in the challenge instead of its address.
func distributionBehindWharfAuth(t *testing.T, realmHost string) (*harness.Distribution, *harness.Wharf) {
	t.Helper()
	_, _, keyPath, certPath := signingPair(t, token.KeyECDSAP256, "auth-server")
	authCfg := filepath.Join(t.TempDir(), "auth_config.yml")
	dockerAuth := fmt.Sprintf(`server:
  addr: ":5001"
token:
  issuer: "Auth Service"
  expiration: 900
  certificate: %q
  key: %q
users:
  "admin":
    password: %q
  "test":
    password: %q
  "": {}
acl:
  - match: {account: "admin"}
    actions: ["*"]
  - match: {account: "test"}
    actions: ["pull"]
  - match: {account: "/.+/"}
    actions: ["pull"]
  - match: {account: "", name: "hello-world"}
    actions: ["pull"]
`, certPath, keyPath, bcryptHash(t, adminPassword), bcryptHash(t, testPassword))
	if err := os.WriteFile(authCfg, []byte(dockerAuth), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := harness.StartWharfCommand(t, nil, "auth", "--config", authCfg, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	realm := "http://" + auth.Addr() + "/auth"
	if realmHost != "" {
		_, port, _ := net.SplitHostPort(auth.Addr())
		realm = "http://" + net.JoinHostPort(realmHost, port) + "/auth"
	}
	dist := harness.StartDistribution(t, fmt.Sprintf(`version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: "{{ROOT}}"
  delete:
    enabled: true
http:
  addr: "{{ADDR}}"
auth:
  token:
    realm: %q
    service: "Docker registry"
    issuer: "Auth Service"
    rootcertbundle: %q
`, realm, certPath))
	return dist, auth
}

// TestWharfAuthFrontsDistribution puts `wharf auth`, reading a docker_auth
// configuration, in front of the real distribution registry configured
// with auth.token, and drives it with the real docker client.
func TestWharfAuthFrontsDistribution(t *testing.T) {
	harness.SkipIfShort(t)
	dist, auth := distributionBehindWharfAuth(t, "")
	rootfs := busyboxRootfs(t)
	d := harness.StartDockerd(t)
	img := dist.Addr + "/team/app:1"
	d.Run("import", rootfs, img)
	d.Run("login", "-u", "admin", "--password", adminPassword, dist.Addr)
	d.Run("push", img)
	d.Run("rmi", img)
	d.Run("pull", img)
	d.Run("logout", dist.Addr)

	if out, err := d.TryRun(strings.NewReader(testPassword), "login", "-u", "test", "--password-stdin", dist.Addr); err != nil {
		t.Fatalf("docker login as test through wharf auth: %v\n%s", err, out)
	}
	d.Run("rmi", img)
	d.Run("pull", img)
	d.Run("tag", img, dist.Addr+"/team/app:2")
	out, err := d.TryRun(nil, "push", dist.Addr+"/team/app:2")
	if err == nil {
		t.Fatalf("a pull-only user pushed to distribution:\n%s", out)
	}
	if !strings.Contains(out, "denied") {
		t.Errorf("push by a pull-only user through distribution: want a denial, got:\n%s", out)
	}
	if log := auth.Log(); !strings.Contains(log, `account=test`) {
		t.Errorf("wharf auth logged no decision for test:\n%s", log)
	}
}

// dockerAuthToken signs a token the way docker_auth does by default: no
// x5c, a libtrust key id in kid.
func dockerAuthToken(t *testing.T, key crypto.Signer, alg jose.SignatureAlgorithm, issuer, service, repo string, actions ...string) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", token.LibtrustKeyID(key.Public()))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := map[string]any{
		"iss": issuer, "sub": "ci", "aud": service,
		"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-time.Second).Unix(), "iat": now.Unix(),
		"jti":    fmt.Sprintf("e2e-%d", now.UnixNano()),
		"access": []map[string]any{{"type": "repository", "name": repo, "actions": actions}},
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestWharfRegistryAcceptsDockerAuthTokens runs `wharf registry` configured
// the registry:2 way (REGISTRY_* variables, as in a compose file) and
// pushes and pulls with tokens signed as docker_auth signs them, RS256 and
// ES256.
func TestWharfRegistryAcceptsDockerAuthTokens(t *testing.T) {
	harness.SkipIfShort(t)
	rsaKey, rsaCert, _, _ := signingPair(t, token.KeyRSA2048, "rsa-signer")
	ecKey, ecCert, _, _ := signingPair(t, token.KeyECDSAP256, "ec-signer")
	bundle := filepath.Join(t.TempDir(), "bundle.crt")
	if err := os.WriteFile(bundle, token.EncodeCertificatesPEM(rsaCert, ecCert), 0o644); err != nil {
		t.Fatal(err)
	}
	// A realm where nothing listens: wharf must warn about it at start-up.
	realm := "http://localhost:" + strings.Split(harness.FreeLoopbackAddr(t), ":")[1] + "/auth"
	env := []string{
		"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=" + t.TempDir(),
		"REGISTRY_STORAGE_DELETE_ENABLED=true",
		"REGISTRY_AUTH=token",
		"REGISTRY_AUTH_TOKEN_REALM=" + realm,
		"REGISTRY_AUTH_TOKEN_SERVICE=Docker registry",
		"REGISTRY_AUTH_TOKEN_ISSUER=Auth Service",
		"REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE=" + bundle,
	}
	w := harness.StartWharfCommand(t, env, "registry", "--addr", "127.0.0.1:0")
	t.Cleanup(httpClient.CloseIdleConnections)

	r := do(t, http.MethodGet, w.URL()+"/v2/", nil)
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), `realm="`+realm+`",service="Docker registry"`) {
		t.Fatalf("GET /v2/ without a token: want a challenge with the configured realm and service: %v", r)
	}
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		alg  jose.SignatureAlgorithm
	}{{"RS256", rsaKey, jose.RS256}, {"ES256", ecKey, jose.ES256}} {
		t.Run(tc.name, func(t *testing.T) {
			repo := "e2e/" + strings.ToLower(tc.name)
			tok := dockerAuthToken(t, tc.key, tc.alg, "Auth Service", "Docker registry", repo, "pull", "push")
			ref := ref(t, w, repo+":1")
			img, err := random.Image(1024, 2)
			if err != nil {
				t.Fatal(err)
			}
			opt := remote.WithAuth(&authn.Bearer{Token: tok})
			if err := remote.Write(ref, img, opt, remote.WithContext(t.Context())); err != nil {
				t.Fatalf("push with a docker_auth-style %s token: %v", tc.name, err)
			}
			back, err := remote.Image(ref, opt, remote.WithContext(t.Context()))
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(back); err != nil {
				t.Fatal(err)
			}
			// A pull-only token cannot push; a token for another repository
			// cannot read this one.
			pullOnly := dockerAuthToken(t, tc.key, tc.alg, "Auth Service", "Docker registry", repo, "pull")
			fresh, err := random.Image(1024, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(ref, fresh, remote.WithAuth(&authn.Bearer{Token: pullOnly})); err == nil {
				t.Error("a pull-only token pushed")
			}
			other := dockerAuthToken(t, tc.key, tc.alg, "Auth Service", "Docker registry", "e2e/other", "pull", "push")
			if _, err := remote.Image(ref, remote.WithAuth(&authn.Bearer{Token: other})); err == nil {
				t.Error("a token for another repository read this one")
			}
		})
	}
	// The classic misconfiguration: the issuer differs by a pair of quotes.
	// The client gets a 401; the operator gets a log line that says why.
	quoted := dockerAuthToken(t, ecKey, jose.ES256, `"Auth Service"`, "Docker registry", "e2e/es256", "pull")
	r = do(t, http.MethodGet, w.URL()+"/v2/e2e/es256/tags/list", nil, "Authorization", "Bearer "+quoted)
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("token with a quoted issuer: %v", r)
	}
	if log := w.Log(); !strings.Contains(log, `does not match configured issuer`) {
		t.Errorf("no diagnostic for the issuer mismatch in the log:\n%s", log)
	}
	if log := w.Log(); !strings.Contains(log, `token realm does not answer`) {
		t.Errorf("no warning about the unreachable realm in the log:\n%s", log)
	}
}

// TestSplitMode runs both halves the classic way — `wharf auth` with a
// docker_auth config, `wharf registry` with REGISTRY_* variables — pushes
// through them with docker, and checks the start-up diagnosis of the two
// classic misconfigurations: an issuer that differs by a pair of quotes,
// and a rootcertbundle without the signing certificate.
func TestSplitMode(t *testing.T) {
	harness.SkipIfShort(t)
	_, _, keyPath, certPath := signingPair(t, token.KeyECDSAP256, "auth-server")
	_, _, _, wrongCert := signingPair(t, token.KeyECDSAP256, "someone-else")
	authCfg := filepath.Join(t.TempDir(), "auth_config.yml")
	if err := os.WriteFile(authCfg, []byte(fmt.Sprintf(`server:
  addr: ":5001"
token:
  issuer: "Auth Service"
  expiration: 900
  certificate: %q
  key: %q
users:
  "admin":
    password: %q
  "": {}
acl:
  - match: {account: "admin"}
    actions: ["*"]
`, certPath, keyPath, bcryptHash(t, adminPassword))), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := harness.StartWharfCommand(t, nil, "auth", "--config", authCfg, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	registry := func(t *testing.T, issuer, bundle string) *harness.Wharf {
		return harness.StartWharfCommand(t, []string{
			"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=" + t.TempDir(),
			"REGISTRY_AUTH=token",
			"REGISTRY_AUTH_TOKEN_REALM=http://" + auth.Addr() + "/auth",
			"REGISTRY_AUTH_TOKEN_SERVICE=Docker registry",
			"REGISTRY_AUTH_TOKEN_ISSUER=" + issuer,
			"REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE=" + bundle,
		}, "registry", "--addr", "127.0.0.1:0")
	}
	// waitLog waits (bounded) for the start-up check, which runs in the
	// background, to log.
	waitLog := func(t *testing.T, w *harness.Wharf, want string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(w.Log(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("the log never said %q:\n%s", want, w.Log())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	t.Run("issuer with literal quotes", func(t *testing.T) {
		// YAML-parsed like distribution: the single quotes go, the double stay.
		w := registry(t, `'"Auth Service"'`, certPath)
		waitLog(t, w, "with literal quotes")
		waitLog(t, w, `does not match configured issuer`)
	})
	t.Run("bundle without the signing certificate", func(t *testing.T) {
		w := registry(t, "Auth Service", wrongCert)
		waitLog(t, w, "a token from the realm does not verify")
	})
	t.Run("docker push and pull", func(t *testing.T) {
		w := registry(t, "Auth Service", certPath)
		waitLog(t, w, "token realm answers and its tokens verify here")
		rootfs := busyboxRootfs(t)
		d := harness.StartDockerd(t)
		img := w.Addr() + "/split/app:1"
		d.Run("import", rootfs, img)
		if out, err := d.TryRun(nil, "push", img); err == nil {
			t.Fatalf("push without login succeeded:\n%s", out)
		}
		d.Run("login", "-u", "admin", "--password", adminPassword, w.Addr())
		d.Run("push", img)
		d.Run("rmi", img)
		d.Run("pull", img)
	})
}
