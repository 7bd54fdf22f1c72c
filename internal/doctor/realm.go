package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"time"

	"wharf/internal/auth/token"
	"wharf/internal/authstack"
	"wharf/internal/certs"
	"wharf/internal/datadir"
)

// maxSkew is how far the token server's clock may be from ours before
// tokens start failing (distribution and wharf allow 60 s of leeway).
const maxSkew = 30 * time.Second

// checkRealm asks the token realm for a token (as the test user, if one is
// given, else anonymously), verifies it the way the registry would, and
// compares clocks.
func checkRealm(ctx context.Context, r *Report, s Setup) {
	client, err := httpClient(s)
	if err != nil {
		r.Fail("CA bundle", err.Error(), "point --ca at a PEM file")
		return
	}
	realm, service := "", ""
	switch {
	case s.Registry != nil && s.Registry.Auth == "token":
		realm, service = s.Registry.Token.Realm, s.Registry.Token.Service
	case s.URL != "":
		realm, service, err = challenge(ctx, client, s.URL)
		if err != nil {
			unreachable(r, "registry", s.URL, err, "check --url and that the registry runs")
			return
		}
		if realm == "" {
			r.Skip("realm", s.URL+" asks for no token (auth is not token)")
			return
		}
	default:
		r.Skip("realm", "give --url (a running registry) or --registry-config to check the token flow")
		return
	}
	q := url.Values{"service": {service}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm+"?"+q.Encode(), nil)
	if err != nil {
		r.Fail("realm", fmt.Sprintf("%q is not a URL: %v", realm, err), "fix auth.token.realm")
		return
	}
	who := "anonymously"
	if s.User != "" {
		req.SetBasicAuth(s.User, s.Password)
		who = "as " + s.User
	}
	res, err := client.Do(req)
	if err != nil {
		unreachable(r, "realm", realm, fmt.Errorf("%s does not answer: %w", realm, err), "start the token server, or fix the realm URL and the firewall")
		return
	}
	defer res.Body.Close()
	checkSkew(r, res.Header.Get("Date"))
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if res.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&body) != nil {
		fix := "check the user's password"
		if s.User == "" {
			fix = "give --user and --password-stdin to log in as a test user"
		}
		r.Fail("realm", fmt.Sprintf("%s answered %s %s without a token", realm, res.Status, who), fix)
		return
	}
	raw := body.Token
	if raw == "" {
		raw = body.AccessToken
	}
	r.Pass("realm", fmt.Sprintf("%s issued a token %s", realm, who))
	v, err := verifierFor(ctx, s, service)
	if err != nil || v == nil {
		if err != nil {
			r.Fail("token verification", err.Error(), "fix the rootcertbundle / jwks settings")
		} else {
			r.Skip("token verification", "no registry configuration to verify the token with")
		}
		return
	}
	if _, err := v.Verify(raw); err != nil {
		r.Fail("token verification", fmt.Sprintf("the registry would refuse this token: %v", err),
			"make issuer, service and signing key agree on both sides (see the checks above)")
		return
	}
	r.Pass("token verification", "the registry accepts the realm's tokens")
}

// unreachable fails check for a server at target that could not be
// asked: a certificate this machine refuses is said as such, with its fix
// (certs.AdviseTLS); anything else with fix.
func unreachable(r *Report, check, target string, err error, fix string) {
	host := target
	if u, perr := url.Parse(target); perr == nil && u.Host != "" {
		host = u.Host
	}
	if a := certs.AdviseTLS(err, host, time.Now()); a != nil {
		r.Fail(check, a.Problem, a.Fix)
		return
	}
	r.Fail(check, err.Error(), fix)
}

func checkSkew(r *Report, date string) {
	t, err := http.ParseTime(date)
	if err != nil {
		r.Skip("clock", "the realm sent no Date header")
		return
	}
	skew := time.Since(t).Round(time.Second)
	if skew < 0 {
		skew = -skew
	}
	if skew > maxSkew {
		r.Fail("clock", fmt.Sprintf("the token server's clock is %v away from this host's", skew), "run NTP (systemd-timesyncd, chrony) on both hosts")
		return
	}
	r.Pass("clock", fmt.Sprintf("within %v of the token server's", max(skew, time.Second)))
}

// verifierFor builds the verifier the registry side would use: the one
// `wharf registry` builds, or one for the signing certificate of `wharf
// serve`.
func verifierFor(ctx context.Context, s Setup, service string) (*token.Verifier, error) {
	switch {
	case s.Registry != nil:
		return authstack.RegistryVerifier(s.Registry.Token, service)
	case s.Serve != nil:
		return authstack.SigningVerifier(ctx, *s.Serve, service)
	}
	return nil, nil
}

var challengeRE = regexp.MustCompile(`(\w+)="([^"]*)"`)

// challenge reads the realm and service from a registry's 401 on /v2/.
func challenge(ctx context.Context, c *http.Client, base string) (realm, service string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/", nil)
	if err != nil {
		return "", "", err
	}
	res, err := c.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("%s does not answer: %w", base, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		return "", "", nil
	}
	for _, m := range challengeRE.FindAllStringSubmatch(res.Header.Get("WWW-Authenticate"), -1) {
		switch m[1] {
		case "realm":
			realm = m[2]
		case "service":
			service = m[2]
		}
	}
	return realm, service, nil
}

func httpClient(s Setup) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	cas := []string{s.CAFile}
	if s.Serve != nil && s.Serve.TLS == "auto" {
		cas = append(cas, datadir.New(s.Serve.Data).TLSCACert())
	}
	for _, p := range cas {
		if p == "" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			if p == s.CAFile {
				return nil, err
			}
			continue
		}
		pool.AppendCertsFromPEM(b)
	}
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}, nil
}
