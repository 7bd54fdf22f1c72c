package wharfbench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The one account of the token-auth servers. Its password is made up per
// run; it protects nothing but loopback servers that live for the run.
const benchUser = "bench"

// authServers is one side of the token-auth comparison: the registry that
// verifies tokens and the token server that issues them (the same process
// for wharf).
type authServers struct {
	registry *server
	issuer   *server // nil when the registry issues its own tokens
	password string
	realm    string
	service  string
	// cert is the PEM certificate of the issuer's signing key, when the
	// issuer is `wharf auth` (the in-memory server verifies with it).
	cert string
}

func (a *authServers) stop() {
	a.registry.stop()
	if a.issuer != nil {
		a.issuer.stop()
	}
}

func (a *authServers) alive() error {
	if err := a.registry.alive(); err != nil {
		return err
	}
	if a.issuer != nil {
		return a.issuer.alive()
	}
	return nil
}

func randomPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", b), nil
}

// wharfTokenConfig is wharf.yml for `wharf serve --auth token`: one user
// who may do anything, nobody else anything.
const wharfTokenConfig = `auth: token
users:
  %s:
    password: %q
acl:
  - match: {account: %s}
    actions: ["*"]
`

// dockerAuthConfig is a cesanta/docker_auth auth_config.yml for `wharf
// auth`, in front of distribution: the same user and rule.
const dockerAuthConfig = `server:
  addr: %q
token:
  issuer: "wharfbench"
  expiration: 900
  certificate: %q
  key: %q
users:
  %q:
    password: %q
acl:
  - match: {account: %q}
    actions: ["*"]
`

// distributionTokenConfig adds auth.token to distributionConfig.
const distributionTokenConfig = `auth:
  token:
    realm: %q
    service: "Docker registry"
    issuer: "wharfbench"
    rootcertbundle: %q
`

// startAuthServers starts `wharf serve` with token auth (all in one) and
// distribution with `wharf auth` as its token server, under dir/auth.
func startAuthServers(ctx context.Context, wharfBin, distBin, dir string) (w, d *authServers, err error) {
	dir = filepath.Join(dir, "auth")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("wharfbench: %w", err)
	}
	password, err := randomPassword()
	if err != nil {
		return nil, nil, fmt.Errorf("wharfbench: %w", err)
	}
	// bcrypt at its default cost, as `htpasswd -nB` makes: both token
	// servers cache verified credentials, so only the first login pays it.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, nil, fmt.Errorf("wharfbench: %w", err)
	}

	cfg := filepath.Join(dir, "wharf.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, wharfTokenConfig, benchUser, hash, benchUser), 0o600); err != nil {
		return nil, nil, fmt.Errorf("wharfbench: %w", err)
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, nil, err
	}
	ws, err := startServer(ctx, "wharf (token auth)", addr, filepath.Join(dir, "wharf.log"), wharfBin,
		"serve", "--addr", addr, "--data", filepath.Join(dir, "wharf-data"), "--config", cfg, "--auth", "token", "--tls", "off")
	if err != nil {
		return nil, nil, err
	}
	w = &authServers{registry: ws, password: password}
	defer func() {
		// ws, not w: every error return sets w to nil.
		if err != nil {
			ws.stop()
		}
	}()
	if w.realm, w.service, err = challenge(ctx, ws.url); err != nil {
		return nil, nil, fmt.Errorf("wharf (token auth): %w (log %s)", err, ws.logPath)
	}

	keyPath, certPath, err := signingPair(dir)
	if err != nil {
		return nil, nil, err
	}
	authAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, nil, err
	}
	authCfg := filepath.Join(dir, "auth_config.yml")
	body := fmt.Appendf(nil, dockerAuthConfig, authAddr, certPath, keyPath, benchUser, hash, benchUser)
	if err := os.WriteFile(authCfg, body, 0o600); err != nil {
		return nil, nil, fmt.Errorf("wharfbench: %w", err)
	}
	issuer, err := startServer(ctx, "wharf auth", authAddr, filepath.Join(dir, "wharf-auth.log"), wharfBin,
		"auth", "--config", authCfg, "--addr", authAddr, "--data", filepath.Join(dir, "wharf-auth-data"))
	if err != nil {
		return nil, nil, err
	}
	d = &authServers{issuer: issuer, password: password, cert: certPath}
	distAddr, err := freeLoopbackAddr()
	if err != nil {
		issuer.stop()
		return nil, nil, err
	}
	distCfg := filesystemDistributionConfig(filepath.Join(dir, "registry-data"), distAddr) +
		fmt.Sprintf(distributionTokenConfig, issuer.url+"/auth", certPath)
	cfgPath := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(cfgPath, []byte(distCfg), 0o600); err != nil {
		issuer.stop()
		return nil, nil, fmt.Errorf("wharfbench: %w", err)
	}
	ds, err := startServer(ctx, "distribution (token auth)", distAddr, filepath.Join(dir, "registry.log"), distBin, "serve", cfgPath)
	if err != nil {
		issuer.stop()
		return nil, nil, err
	}
	d.registry = ds
	if d.realm, d.service, err = challenge(ctx, ds.url); err != nil {
		d.stop()
		return nil, nil, fmt.Errorf("distribution (token auth): %w (log %s)", err, ds.logPath)
	}
	return w, d, nil
}

// signingPair writes a fresh ECDSA P-256 key (PKCS #8) and a self-signed
// certificate for it, as the classic stack's openssl recipe does.
func signingPair(dir string) (keyPath, certPath string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("wharfbench: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "wharfbench token signer"},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return "", "", fmt.Errorf("wharfbench: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("wharfbench: %w", err)
	}
	keyPath, certPath = filepath.Join(dir, "token.key"), filepath.Join(dir, "token.crt")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		return "", "", fmt.Errorf("wharfbench: %w", err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", fmt.Errorf("wharfbench: %w", err)
	}
	return keyPath, certPath, nil
}

// challenge reads the realm and service of the Bearer challenge GET /v2/
// answers, as every client does first.
func challenge(ctx context.Context, base string) (realm, service string, err error) {
	res, _, err := do(ctx, http.DefaultClient, http.MethodGet, base+"/v2/", nil, nil, http.StatusUnauthorized)
	if err != nil {
		return "", "", err
	}
	h := res.Header.Get("WWW-Authenticate")
	rest, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return "", "", fmt.Errorf("GET /v2/: want a Bearer challenge, got %q", h)
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		v = strings.Trim(v, `"`)
		switch k {
		case "realm":
			realm = v
		case "service":
			service = v
		}
	}
	if realm == "" {
		return "", "", fmt.Errorf("GET /v2/: no realm in %q", h)
	}
	return realm, service, nil
}

// token asks the token server for a token for scope, with the bench
// user's credentials (what `docker pull` does once per image).
func (a *authServers) token(ctx context.Context, c *http.Client, scope string) (string, error) {
	u := a.realm + "?service=" + url.QueryEscape(a.service) + "&scope=" + url.QueryEscape(scope)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(benchUser, a.password)
	res, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token for %s: status %d", scope, res.StatusCode)
	}
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("token for %s: %w", scope, err)
	}
	if body.Token == "" {
		body.Token = body.AccessToken
	}
	if body.Token == "" {
		return "", fmt.Errorf("token for %s: empty", scope)
	}
	return body.Token, nil
}
