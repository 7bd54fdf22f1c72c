package doctor

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"wharf/internal/auth/token"
	"wharf/internal/config"
	"wharf/internal/datadir"
)

// expiryMargin is how long certificates must still be valid.
const expiryMargin = 30 * 24 * time.Hour

// checkCertificates checks every certificate and key the setup names:
// keys match their certificates, certificates are valid for more than 30
// days, and the server certificate covers the public host name.
func checkCertificates(r *Report, s Setup) {
	for _, c := range []*config.Config{s.Serve, s.Registry, s.Auth} {
		if c == nil {
			continue
		}
		if c.Token.Certificate != "" && (c.Role != config.RoleRegistry) {
			checkPair(r, "token-signing key", c.Token.Certificate, c.Token.Key, "")
		}
		if c.Token.RootCertBundle != "" {
			checkExpiry(r, "rootcertbundle", c.Token.RootCertBundle)
		}
		switch c.TLS {
		case "files":
			checkPair(r, "server certificate", c.TLSFiles.Certificate, c.TLSFiles.Key, s.Host)
		case "auto":
			d := datadir.New(c.Data)
			if _, err := os.Stat(d.TLSServerCert()); err == nil {
				checkPair(r, "server certificate (tls: auto)", d.TLSServerCert(), d.TLSServerKey(), s.Host)
			} else {
				r.Skip("server certificate (tls: auto)", "not generated yet: wharf serve creates it on first start")
			}
		}
	}
}

// checkPair loads a certificate and its key: they must belong together,
// be valid for 30 days more, and cover host when one is given.
func checkPair(r *Report, what, certPath, keyPath, host string) {
	certs, err := readCerts(certPath)
	if err != nil {
		r.Fail(what, err.Error(), "check the certificate path; `wharf certs init` makes new ones")
		return
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		r.Fail(what, err.Error(), "check the key path")
		return
	}
	key, err := token.ParsePrivateKeyPEM(kb)
	if err != nil {
		r.Fail(what, fmt.Sprintf("%s: %v", keyPath, err), "use an unencrypted PEM key (PKCS#8, PKCS#1 or SEC 1)")
		return
	}
	pub, ok := certs[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		r.Fail(what, fmt.Sprintf("the key %s does not belong to the certificate %s", keyPath, certPath),
			"use the key the certificate was issued for, or issue a new certificate for this key")
		return
	}
	r.Pass(what, fmt.Sprintf("%s and %s belong together", certPath, keyPath))
	expiry(r, what, certPath, certs[0])
	if host != "" {
		if err := certs[0].VerifyHostname(host); err != nil {
			r.Fail(what+" names", fmt.Sprintf("%s does not cover %q (it covers %v %v)", certPath, host, certs[0].DNSNames, certs[0].IPAddresses),
				"issue a certificate with that name: wharf certs init --name "+host)
		} else {
			r.Pass(what+" names", fmt.Sprintf("covers %q", host))
		}
	}
}

func checkExpiry(r *Report, what, path string) {
	certs, err := readCerts(path)
	if err != nil {
		r.Fail(what, err.Error(), "check the path")
		return
	}
	for _, c := range certs {
		expiry(r, what, path, c)
	}
}

func expiry(r *Report, what, path string, c *x509.Certificate) {
	left := time.Until(c.NotAfter)
	name := fmt.Sprintf("%s expiry (%s)", what, c.Subject.CommonName)
	switch {
	case left <= 0:
		r.Fail(name, fmt.Sprintf("%s expired on %s", path, c.NotAfter.Format(time.DateOnly)), "issue a new certificate")
	case left < expiryMargin:
		r.Fail(name, fmt.Sprintf("%s expires in %d days (%s)", path, int(left.Hours()/24), c.NotAfter.Format(time.DateOnly)), "renew it now")
	default:
		r.Pass(name, fmt.Sprintf("valid for %d more days", int(left.Hours()/24)))
	}
}
