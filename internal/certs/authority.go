package certs

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"wharf/internal/auth/token"
)

// Default validities. The server certificate's 397 days is the longest
// that browsers and Apple platforms accept for a TLS leaf (398 with a day
// of slack); the classic openssl recipe uses 391.
const (
	DefaultCAValidity      = 10 * 365 * 24 * time.Hour
	DefaultServerValidity  = 397 * 24 * time.Hour
	DefaultSigningValidity = 5 * 365 * 24 * time.Hour
)

// backdate is how far before "now" certificates start, so that a client
// or registry whose clock runs a little slow still accepts them.
const backdate = 5 * time.Minute

// ErrName means a host name cannot go into a certificate's SANs.
var ErrName = errors.New("certs: bad name")

// ErrForbidden means the CA's name constraints do not permit a name.
var ErrForbidden = errors.New("certs: name outside the CA's constraints")

// Authority is a CA that signs server and token-signing certificates.
// Key is nil for an authority loaded without its key: it can describe and
// verify but not issue.
type Authority struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewCA makes a self-signed CA certificate and its key. It may sign leaf
// certificates only (MaxPathLen 0), so a leaked wharf CA cannot mint
// intermediates, and only for names (DNS names and IP literals, as
// IssueServer takes them): its critical name constraints make clients
// refuse anything it signs for another host, so that a copy of its key
// cannot intercept TLS to every site its clients visit.
func NewCA(commonName string, names []string, kind token.KeyKind, validity time.Duration) (*Authority, error) {
	return newCA(commonName, names, kind, validity, time.Now())
}

func newCA(commonName string, names []string, kind token.KeyKind, validity time.Duration, now time.Time) (*Authority, error) {
	if commonName == "" {
		return nil, errors.New("certs: CA common name is empty")
	}
	if len(names) == 0 {
		return nil, errors.New("certs: a CA needs the names it may sign for")
	}
	tmpl, err := template(commonName, validity, now)
	if err != nil {
		return nil, err
	}
	if err := constrain(tmpl, names); err != nil {
		return nil, err
	}
	key, err := token.GenerateKey(kind)
	if err != nil {
		return nil, fmt.Errorf("certs: CA key: %w", err)
	}
	tmpl.IsCA = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	tmpl.MaxPathLen = 0
	tmpl.MaxPathLenZero = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("certs: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: parse CA certificate: %w", err)
	}
	return &Authority{Cert: cert, Key: key}, nil
}

// LoadCA reads a CA certificate (the first in the file) and its private
// key, and checks that they belong together and that the certificate is a
// CA.
func LoadCA(certPath, keyPath string) (*Authority, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("certs: CA certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("certs: CA key: %w", err)
	}
	ca, err := parseCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w (%s, %s)", err, certPath, keyPath)
	}
	return ca, nil
}

func parseCA(certPEM, keyPEM []byte) (*Authority, error) {
	certs, err := token.ParseCertificatesPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("certs: CA certificate: %w", err)
	}
	cert := certs[0]
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("certs: %q is not a CA certificate (no CA:true or keyCertSign)", cert.Subject)
	}
	key, err := token.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("certs: CA key: %w", err)
	}
	if !samePublicKey(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("certs: the CA key does not belong to the CA certificate %q", cert.Subject)
	}
	return &Authority{Cert: cert, Key: key}, nil
}

// CertPEM is the CA certificate as PEM: what clients must trust.
func (a *Authority) CertPEM() []byte { return token.EncodeCertificatesPEM(a.Cert) }

// KeyPEM is the CA key as PKCS #8 PEM; store it with mode 0600.
func (a *Authority) KeyPEM() ([]byte, error) {
	if a.Key == nil {
		return nil, errors.New("certs: the CA has no key loaded")
	}
	return token.EncodePrivateKeyPEM(a.Key)
}

// IssueServer makes a TLS server key and certificate for names (DNS names
// or IP literals; the first is also the common name). certPEM holds the
// leaf only, which is what nginx's ssl_certificate and Go's tls want when
// the clients trust the CA itself: sending the root along would only add
// bytes, since a client can't use a root it does not already trust.
func (a *Authority) IssueServer(names []string, kind token.KeyKind, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	return a.issueServer(names, kind, validity, time.Now())
}

func (a *Authority) issueServer(names []string, kind token.KeyKind, validity time.Duration, now time.Time) (certPEM, keyPEM []byte, err error) {
	dns, ips, err := ParseNames(names)
	if err != nil {
		return nil, nil, err
	}
	if bad := a.Forbidden(names); len(bad) > 0 {
		return nil, nil, fmt.Errorf("%w: the CA %q may not sign for %s (it is limited to: %s); make a new CA for these names",
			ErrForbidden, a.Cert.Subject.CommonName, strings.Join(bad, ", "), strings.Join(constraintSummary(a.Cert), ", "))
	}
	cn, ip, _ := ParseName(names[0]) // ParseNames accepted it
	switch {
	case len(dns) == 0:
		// No subject: OpenSSL checks a subject CN that looks like a host
		// name ("10.0.0.3" does) against the CA's DNS constraints when
		// there are no DNS names, and a CA for addresses only excludes
		// every DNS name. The addresses are in the SANs, which Go marks
		// critical for an empty subject, as RFC 5280 asks.
		cn = ""
	case ip != nil:
		cn = ip.String()
	}
	return a.issue(cn, kind, validity, now, func(t *x509.Certificate, pub crypto.PublicKey) {
		t.DNSNames, t.IPAddresses = dns, ips
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		t.KeyUsage = x509.KeyUsageDigitalSignature
		if _, ok := pub.(*rsa.PublicKey); ok {
			// RSA key exchange (TLS 1.2 without ECDHE) encrypts with the key.
			t.KeyUsage |= x509.KeyUsageKeyEncipherment
		}
	})
}

// IssueSigning makes the token-signing key and its certificate, for the
// token server's token.certificate/key and a registry's rootcertbundle.
//
// The certificate deliberately has no extended key usage: Go's
// x509.Verify, which registries use on a token's x5c chain, treats a
// certificate without one as good for any purpose, whereas a codeSigning
// or other EKU would make verifiers that ask for serverAuth (the default)
// reject it.
func (a *Authority) IssueSigning(commonName string, kind token.KeyKind, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	return a.issueSigning(commonName, kind, validity, time.Now())
}

func (a *Authority) issueSigning(commonName string, kind token.KeyKind, validity time.Duration, now time.Time) (certPEM, keyPEM []byte, err error) {
	if commonName == "" {
		return nil, nil, errors.New("certs: token-signing common name is empty")
	}
	return a.issue(commonName, kind, validity, now, func(t *x509.Certificate, _ crypto.PublicKey) {
		t.KeyUsage = x509.KeyUsageDigitalSignature
	})
}

// issue makes a key and a leaf certificate signed by a; shape fills in
// what differs between leaf kinds.
func (a *Authority) issue(cn string, kind token.KeyKind, validity time.Duration, now time.Time,
	shape func(*x509.Certificate, crypto.PublicKey)) (certPEM, keyPEM []byte, err error) {
	if a == nil || a.Cert == nil || a.Key == nil {
		return nil, nil, errors.New("certs: the CA key is needed to issue certificates")
	}
	tmpl, err := template(cn, validity, now)
	if err != nil {
		return nil, nil, err
	}
	// A leaf outliving its CA would fail verification anyway; end it with
	// the CA so that its "expires" date tells the truth.
	if tmpl.NotAfter.After(a.Cert.NotAfter) {
		tmpl.NotAfter = a.Cert.NotAfter
	}
	if !now.Before(a.Cert.NotAfter) {
		return nil, nil, fmt.Errorf("certs: the CA %q expired on %s; make a new one (wharf certs init --force)",
			a.Cert.Subject, a.Cert.NotAfter.Format(time.DateOnly))
	}
	key, err := token.GenerateKey(kind)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	shape(tmpl, key.Public())
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.Cert, key.Public(), a.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: create certificate for %q: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: parse certificate for %q: %w", cn, err)
	}
	keyPEM, err = token.EncodePrivateKeyPEM(key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	return token.EncodeCertificatesPEM(cert), keyPEM, nil
}

// template is the part every certificate shares: a random 128-bit serial
// (RFC 5280 allows up to 20 octets; unpredictable serials defeat chosen-
// prefix collisions), the subject, and the validity window.
func template(cn string, validity time.Duration, now time.Time) (*x509.Certificate, error) {
	if validity <= 0 {
		return nil, fmt.Errorf("certs: validity must be positive, got %s", validity)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("certs: serial: %w", err)
	}
	return &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)), // never zero
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		BasicConstraintsValid: true,
	}, nil
}

// ParseNames sorts host names into DNS and IP SANs: an IP literal (v4 or
// v6, without brackets or zone) is an IP address, anything else must be a
// valid DNS name (letters, digits and hyphens, labels of at most 63
// characters, a "*." wildcard allowed as the first label). DNS names are
// lower-cased; duplicates are dropped. Empty input is an error: a
// certificate must name the host it serves.
func ParseNames(names []string) (dns []string, ips []net.IP, err error) {
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("%w: no names given; a server certificate needs at least one host name or IP address", ErrName)
	}
	seen := map[string]bool{}
	for _, n := range names {
		d, ip, err := ParseName(n)
		if err != nil {
			return nil, nil, err
		}
		key := d
		if ip != nil {
			key = ip.String()
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		if ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, d)
		}
	}
	return dns, ips, nil
}

// ParseName reads one SAN: it returns either an IP address or a
// normalized DNS name.
func ParseName(name string) (dns string, ip net.IP, err error) {
	n := strings.TrimSpace(name)
	if n == "" {
		return "", nil, fmt.Errorf("%w: empty name", ErrName)
	}
	if addr, err := netip.ParseAddr(n); err == nil {
		if addr.Zone() != "" {
			return "", nil, fmt.Errorf("%w: %q: an IPv6 zone (%%%s) cannot go in a certificate", ErrName, name, addr.Zone())
		}
		return "", net.IP(addr.Unmap().AsSlice()), nil
	}
	if strings.HasPrefix(n, "[") && strings.HasSuffix(n, "]") {
		return "", nil, fmt.Errorf("%w: %q: write the IPv6 address without brackets", ErrName, name)
	}
	if strings.Contains(n, "://") || strings.Contains(n, "/") {
		return "", nil, fmt.Errorf("%w: %q: give a host name, not a URL or path", ErrName, name)
	}
	if _, port, err := net.SplitHostPort(n); err == nil {
		return "", nil, fmt.Errorf("%w: %q: give the host without the port (:%s); certificates do not name ports", ErrName, name, port)
	}
	n = strings.ToLower(strings.TrimSuffix(n, "."))
	if err := checkDNSName(n); err != nil {
		return "", nil, fmt.Errorf("%w: %q: %s", ErrName, name, err)
	}
	return n, nil, nil
}

func checkDNSName(n string) error {
	if len(n) > 253 {
		return fmt.Errorf("longer than 253 characters")
	}
	labels := strings.Split(n, ".")
	allDigits := true
	for i, l := range labels {
		if l == "*" && i == 0 && len(labels) > 2 {
			allDigits = false
			continue
		}
		if l == "" {
			return fmt.Errorf("empty label")
		}
		if len(l) > 63 {
			return fmt.Errorf("label %q is longer than 63 characters", l)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("label %q starts or ends with a hyphen", l)
		}
		for _, c := range l {
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c == '-':
				allDigits = false
			case c == '*':
				return fmt.Errorf("a wildcard must be the whole first label of at least three (*.example.com)")
			default:
				return fmt.Errorf("character %q is not allowed in a DNS name (letters, digits, hyphens; punycode for other scripts)", c)
			}
		}
	}
	if allDigits {
		return fmt.Errorf("looks like an IP address but is not a valid one")
	}
	return nil
}

// samePublicKey compares two public keys by value.
func samePublicKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
