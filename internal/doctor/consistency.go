package doctor

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"wharf/internal/auth/token"
	"wharf/internal/config"
)

// checkConsistency compares the two halves of a split setup: what the
// registry expects against what the token server issues.
func checkConsistency(r *Report, s Setup) {
	for _, w := range s.RegistryWarnings {
		r.Warn("registry config", w, "remove the inner pair of quotes from that value")
	}
	for _, w := range s.AuthWarnings {
		r.Warn("auth config", w, "remove the inner pair of quotes from that value")
	}
	if s.Serve != nil {
		quoted := false
		for key, v := range map[string]string{"token.issuer": s.Serve.Token.Issuer, "token.service": s.Serve.Token.Service} {
			if config.HasLiteralQuotes(v) {
				quoted = true
				r.Warn("token settings", config.QuotesAdvice(key, v), "remove the inner pair of quotes from "+key+" in wharf.yml")
			}
		}
		if !quoted && s.Serve.Auth == "token" {
			r.Pass("token settings", "issuer, service, realm and key are wired internally by wharf serve")
		}
	}
	if s.Registry == nil || s.Auth == nil {
		return
	}
	reg, au := s.Registry.Token, s.Auth.Token
	switch {
	case reg.Issuer == au.Issuer:
		r.Pass("issuer", fmt.Sprintf("both sides use %q", reg.Issuer))
	case strings.Trim(reg.Issuer, `"'`) == strings.Trim(au.Issuer, `"'`):
		r.Fail("issuer", fmt.Sprintf("the registry expects %q, the token server issues %q: they differ only by quotes", reg.Issuer, au.Issuer),
			"one side's value contains literal quote characters (it was quoted twice, e.g. '\"Auth Service\"'): quote it once or not at all, e.g. REGISTRY_AUTH_TOKEN_ISSUER=\"Auth Service\" or issuer: Auth Service")
	default:
		r.Fail("issuer", fmt.Sprintf("the registry expects %q, the token server issues %q", reg.Issuer, au.Issuer),
			"set auth.token.issuer (REGISTRY_AUTH_TOKEN_ISSUER) to the token server's token.issuer")
	}
	if au.Service != "" && au.Service != reg.Service {
		r.Fail("service", fmt.Sprintf("the registry's service is %q, the token server only issues for %q", reg.Service, au.Service),
			"use the same service name on both sides")
	} else {
		r.Pass("service", fmt.Sprintf("clients ask the token server for %q, the registry's service", reg.Service))
	}
	checkRealmPoints(r, reg.Realm, s.Auth.Addr)
	checkSigningTrust(r, reg.RootCertBundle, au.Certificate)
}

// checkRealmPoints warns when the realm's port is not the token server's.
func checkRealmPoints(r *Report, realm, authAddr string) {
	u, err := url.Parse(realm)
	if err != nil || u.Host == "" {
		r.Fail("realm", fmt.Sprintf("auth.token.realm %q is not an absolute URL", realm), "set it to the token server's URL, e.g. https://auth.example.com:5001/auth")
		return
	}
	_, authPort, _ := net.SplitHostPort(authAddr)
	realmPort := u.Port()
	if realmPort == "" {
		realmPort = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	if authPort != "" && realmPort != authPort {
		r.Warn("realm", fmt.Sprintf("the realm %s uses port %s but the token server listens on %s", realm, realmPort, authAddr),
			"fine behind a proxy that maps the port; otherwise point the realm at the token server's port")
		return
	}
	r.Pass("realm", fmt.Sprintf("%s matches the token server's address %s", realm, authAddr))
}

// checkSigningTrust checks that the token-signing certificate is in, or
// chains to, the registry's rootcertbundle.
func checkSigningTrust(r *Report, bundlePath, signerPath string) {
	if bundlePath == "" || signerPath == "" {
		r.Skip("rootcertbundle", "no rootcertbundle or no token certificate to compare")
		return
	}
	roots, err := readCerts(bundlePath)
	if err != nil {
		r.Fail("rootcertbundle", err.Error(), "point auth.token.rootcertbundle at a PEM file of certificates")
		return
	}
	chain, err := readCerts(signerPath)
	if err != nil {
		r.Fail("token certificate", err.Error(), "point token.certificate at the PEM certificate of the signing key")
		return
	}
	if err := token.CheckTrust(roots, chain); err != nil {
		r.Fail("rootcertbundle", fmt.Sprintf("%s does not hold or chain to the signing certificate %s: %v", bundlePath, signerPath, err),
			"copy the token server's certificate (token.certificate) into the registry's rootcertbundle")
		return
	}
	r.Pass("rootcertbundle", fmt.Sprintf("%s trusts the signing certificate %s", bundlePath, signerPath))
}

func readCerts(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := token.ParseCertificatesPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs, nil
}
