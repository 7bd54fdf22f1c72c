package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"wharf/internal/auth/token"
)

// The kinds of PEM blocks Describe reports.
const (
	KindCertificate = "certificate"
	KindPrivateKey  = "private key"
	KindPublicKey   = "public key"
)

// Info describes one PEM block: a certificate, or the type of a key.
// Key material is never part of it.
type Info struct {
	// Index is the block's position in the file, from 1.
	Index int
	// Kind is KindCertificate, KindPrivateKey or KindPublicKey.
	Kind string
	// Key is the key type and size, "ECDSA P-256" or "RSA 2048".
	Key string
	// KeyID and LibtrustID are the key's RFC 7638 thumbprint (wharf's
	// kid) and docker/libtrust fingerprint (docker_auth's), for matching
	// a token's kid to a file. They identify the public key only.
	KeyID, LibtrustID string

	// The rest is set for certificates only.
	Subject, Issuer     string
	DNSNames            []string
	IPAddresses         []string
	Serial              string
	NotBefore, NotAfter time.Time
	// DaysLeft is the number of days to NotAfter at the time of Describe,
	// rounded; negative (days since) once expired.
	DaysLeft             int
	Expired, NotYetValid bool
	IsCA                 bool
	// NameConstraints say what a CA may sign for ("permitted DNS
	// localhost", "excluded IP 0.0.0.0/0"…); empty for a CA without any,
	// which may sign for every name.
	NameConstraints []string
	KeyUsage        []string
	ExtKeyUsage     []string
	// SHA256 is the certificate's fingerprint as openssl prints it
	// (x509 -fingerprint -sha256): colon-separated upper-case hex.
	SHA256 string
}

// Describe reports every PEM block in data: certificates (a chain or a
// bundle gives one Info each, in order), private keys and public keys. An
// encrypted key is reported as such; any other block is an error.
func Describe(data []byte) ([]Info, error) {
	return describeAt(data, time.Now())
}

func describeAt(data []byte, now time.Time) ([]Info, error) {
	var out []Info
	for i := 1; ; i++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type == "EC PARAMETERS" { // openssl ecparam -genkey writes it before the key
			continue
		}
		info, err := describeBlock(block, now)
		if err != nil {
			return nil, fmt.Errorf("certs: PEM block %d (%q): %w", i, block.Type, err)
		}
		info.Index = i
		out = append(out, info)
	}
	if len(out) == 0 {
		return nil, errors.New("certs: no PEM data (want a certificate or key file in PEM form; convert DER with openssl x509 -inform der)")
	}
	return out, nil
}

func describeBlock(block *pem.Block, now time.Time) (Info, error) {
	one := pem.EncodeToMemory(block)
	switch {
	case block.Type == "CERTIFICATE":
		certs, err := token.ParseCertificatesPEM(one)
		if err != nil {
			return Info{}, err
		}
		return describeCert(certs[0], now), nil
	case block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "":
		return Info{Kind: KindPrivateKey, Key: "encrypted"}, nil
	case strings.HasSuffix(block.Type, "PRIVATE KEY"):
		key, err := token.ParsePrivateKeyPEM(one)
		if err != nil {
			return Info{}, err
		}
		return keyInfo(KindPrivateKey, key.Public()), nil
	case strings.HasSuffix(block.Type, "PUBLIC KEY"):
		keys, err := token.ParsePublicKeysPEM(one)
		if err != nil {
			return Info{}, err
		}
		return keyInfo(KindPublicKey, keys[0]), nil
	default:
		return Info{}, errors.New("not a certificate or key")
	}
}

func keyInfo(kind string, pub crypto.PublicKey) Info {
	return Info{Kind: kind, Key: keyType(pub), KeyID: token.Thumbprint(pub), LibtrustID: token.LibtrustKeyID(pub)}
}

func describeCert(c *x509.Certificate, now time.Time) Info {
	info := keyInfo(KindCertificate, c.PublicKey)
	info.Subject = c.Subject.String()
	info.Issuer = c.Issuer.String()
	info.DNSNames = c.DNSNames
	for _, ip := range c.IPAddresses {
		info.IPAddresses = append(info.IPAddresses, ip.String())
	}
	info.Serial = colonHex(c.SerialNumber.Bytes())
	info.NotBefore, info.NotAfter = c.NotBefore.UTC(), c.NotAfter.UTC()
	// Rounded, so that a fresh 30-day certificate says 30, not 29.
	info.DaysLeft = int(math.Round(c.NotAfter.Sub(now).Hours() / 24))
	info.Expired = !now.Before(c.NotAfter)
	info.NotYetValid = now.Before(c.NotBefore)
	info.IsCA = c.IsCA
	info.NameConstraints = constraintSummary(c)
	info.KeyUsage = keyUsages(c.KeyUsage)
	for _, u := range c.ExtKeyUsage {
		info.ExtKeyUsage = append(info.ExtKeyUsage, extKeyUsageName(u))
	}
	sum := sha256.Sum256(c.Raw)
	info.SHA256 = colonHex(sum[:])
	return info
}

// String is a multi-line, human-readable description.
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s #%d\n", i.Kind, i.Index)
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(&b, "  %-15s %s\n", label+":", value)
		}
	}
	if i.Kind == KindCertificate {
		line("subject", i.Subject)
		line("issuer", i.Issuer)
		line("DNS names", strings.Join(i.DNSNames, ", "))
		line("IP addresses", strings.Join(i.IPAddresses, ", "))
		line("serial", i.Serial)
		line("not before", i.NotBefore.Format(time.RFC3339))
		line("not after", i.NotAfter.Format(time.RFC3339)+" ("+i.expiry()+")")
	}
	line("key", i.Key)
	line("key id", i.KeyID)
	line("libtrust id", i.LibtrustID)
	if i.Kind == KindCertificate {
		line("CA", map[bool]string{true: "yes", false: "no"}[i.IsCA])
		if i.IsCA {
			limits := strings.Join(i.NameConstraints, ", ")
			if limits == "" {
				limits = "none (may sign for any host)"
			}
			line("constraints", limits)
		}
		line("key usage", strings.Join(i.KeyUsage, ", "))
		line("ext key usage", strings.Join(i.ExtKeyUsage, ", "))
		line("SHA-256", i.SHA256)
	}
	return b.String()
}

func (i Info) expiry() string {
	switch {
	case i.Expired:
		return "EXPIRED " + days(-i.DaysLeft) + " ago"
	case i.NotYetValid:
		return "NOT YET VALID, expires in " + days(i.DaysLeft)
	case i.DaysLeft == 0:
		return "expires within a day"
	default:
		return "expires in " + days(i.DaysLeft)
	}
}

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

func keyType(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	default:
		return fmt.Sprintf("%T", pub)
	}
}

func keyUsages(u x509.KeyUsage) []string {
	names := []struct {
		bit  x509.KeyUsage
		name string
	}{
		{x509.KeyUsageDigitalSignature, "digitalSignature"},
		{x509.KeyUsageContentCommitment, "contentCommitment"},
		{x509.KeyUsageKeyEncipherment, "keyEncipherment"},
		{x509.KeyUsageDataEncipherment, "dataEncipherment"},
		{x509.KeyUsageKeyAgreement, "keyAgreement"},
		{x509.KeyUsageCertSign, "keyCertSign"},
		{x509.KeyUsageCRLSign, "cRLSign"},
		{x509.KeyUsageEncipherOnly, "encipherOnly"},
		{x509.KeyUsageDecipherOnly, "decipherOnly"},
	}
	var out []string
	for _, n := range names {
		if u&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

func extKeyUsageName(u x509.ExtKeyUsage) string {
	switch u {
	case x509.ExtKeyUsageAny:
		return "any"
	case x509.ExtKeyUsageServerAuth:
		return "serverAuth"
	case x509.ExtKeyUsageClientAuth:
		return "clientAuth"
	case x509.ExtKeyUsageCodeSigning:
		return "codeSigning"
	case x509.ExtKeyUsageEmailProtection:
		return "emailProtection"
	case x509.ExtKeyUsageTimeStamping:
		return "timeStamping"
	case x509.ExtKeyUsageOCSPSigning:
		return "OCSPSigning"
	default:
		return fmt.Sprintf("ext key usage %d", u)
	}
}

func colonHex(b []byte) string {
	if len(b) == 0 {
		return "00"
	}
	var s strings.Builder
	for i, c := range b {
		if i > 0 {
			s.WriteByte(':')
		}
		fmt.Fprintf(&s, "%02X", c)
	}
	return s.String()
}
