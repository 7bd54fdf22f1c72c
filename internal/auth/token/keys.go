package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// ErrKey means key material is unreadable, of an unsupported kind or too
// weak. Messages name the PEM block or JWK but never print key bytes.
var ErrKey = errors.New("token: bad key")

// KeyKind names a kind of signing key GenerateKey can make.
type KeyKind string

// The kinds of signing keys GenerateKey makes. ECDSA P-256 (ES256) is the
// default: small tokens, fast, and understood by distribution v2 and v3.
const (
	KeyECDSAP256 KeyKind = "ecdsa-p256"
	KeyECDSAP384 KeyKind = "ecdsa-p384"
	KeyECDSAP521 KeyKind = "ecdsa-p521"
	KeyRSA2048   KeyKind = "rsa-2048"
	KeyRSA3072   KeyKind = "rsa-3072"
	KeyRSA4096   KeyKind = "rsa-4096"
	KeyEd25519   KeyKind = "ed25519"
)

// RSA moduli below minRSABits are refused for signing (NIST has disallowed
// them since 2013); above maxRSABits a hostile certificate would make every
// verification slow.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// GenerateKey makes a new signing key; the empty kind means KeyECDSAP256.
func GenerateKey(kind KeyKind) (crypto.Signer, error) {
	switch kind {
	case "", KeyECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case KeyECDSAP521:
		return ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case KeyRSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case KeyRSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case KeyRSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	case KeyEd25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	default:
		return nil, fmt.Errorf("%w: unknown key kind %q (want one of %s, %s, %s, %s, %s, %s, %s)", ErrKey, kind,
			KeyECDSAP256, KeyECDSAP384, KeyECDSAP521, KeyRSA2048, KeyRSA3072, KeyRSA4096, KeyEd25519)
	}
}

// SelfSignedCert makes a certificate for key, valid from five minutes ago
// (registries with a slow clock still accept it) for validity. It is the
// token-signing certificate of a first start and of tests: give it to a
// registry as its rootcertbundle.
func SelfSignedCert(key crypto.Signer, commonName string, validity time.Duration) (*x509.Certificate, error) {
	if validity <= 0 {
		return nil, fmt.Errorf("%w: certificate validity must be positive, got %s", ErrKey, validity)
	}
	if err := checkSigningKey(key); err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("token: certificate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("token: create certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// ParsePrivateKeyPEM reads the one private key in data: PKCS #1 ("RSA
// PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY") or PKCS #8 ("PRIVATE KEY") with
// RSA, ECDSA P-256/384/521 or Ed25519 inside. CERTIFICATE and EC PARAMETERS
// blocks are skipped, so a combined key-and-certificate file works.
// Encrypted keys are refused: decrypt them first (openssl pkey -in k -out k2).
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	var found crypto.Signer
	for i := 0; ; i++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, fmt.Errorf("%w: PEM block %d (%q) is encrypted; decrypt it first", ErrKey, i, block.Type)
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "CERTIFICATE", "EC PARAMETERS":
			continue
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		default:
			return nil, fmt.Errorf("%w: PEM block %d is %q where a private key is expected", ErrKey, i, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: PEM block %d (%q): %w", ErrKey, i, block.Type, err)
		}
		if found != nil {
			return nil, fmt.Errorf("%w: more than one private key in the PEM data", ErrKey)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%w: PEM block %d (%q) holds an unsupported %T", ErrKey, i, block.Type, key)
		}
		if err := checkSigningKey(signer); err != nil {
			return nil, err
		}
		found = signer
	}
	if found == nil {
		return nil, fmt.Errorf("%w: no private key in the PEM data", ErrKey)
	}
	return found, nil
}

// ParseCertificatesPEM reads every CERTIFICATE block in data, in order (a
// chain is leaf first; a root bundle any order). Text around the blocks, as
// openssl x509 -text writes it, is ignored; any other PEM block is an error,
// a private key above all: a registry needs only the certificate.
func ParseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for i := 0; ; i++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			hint := ""
			if strings.Contains(block.Type, "PRIVATE KEY") {
				hint = "; a certificate bundle must not hold the signing key"
			}
			return nil, fmt.Errorf("%w: PEM block %d is %q where a certificate is expected%s", ErrKey, i, block.Type, hint)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: PEM block %d: %w", ErrKey, i, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no certificate in the PEM data", ErrKey)
	}
	return certs, nil
}

// ParsePublicKeysPEM reads every public key in data: PKIX ("PUBLIC KEY") or
// PKCS #1 ("RSA PUBLIC KEY") blocks with RSA, ECDSA or Ed25519 keys.
func ParsePublicKeysPEM(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for i := 0; ; i++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		default:
			return nil, fmt.Errorf("%w: PEM block %d is %q where a public key is expected", ErrKey, i, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: PEM block %d (%q): %w", ErrKey, i, block.Type, err)
		}
		if err := checkPublicKey(key); err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no public key in the PEM data", ErrKey)
	}
	return keys, nil
}

// EncodePrivateKeyPEM writes key as an unencrypted PKCS #8 "PRIVATE KEY"
// block. The caller stores it with mode 0600.
func EncodePrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EncodeCertificatesPEM writes certs as CERTIFICATE blocks, in order.
func EncodeCertificatesPEM(certs ...*x509.Certificate) []byte {
	var b strings.Builder
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return []byte(b.String())
}

// Thumbprint is the RFC 7638 JWK thumbprint of pub: the base64url (no
// padding) SHA-256 of its canonical JWK. Wharf uses it as the kid. It is ""
// for an unsupported key type.
func Thumbprint(pub crypto.PublicKey) string {
	if checkPublicKey(pub) != nil {
		return ""
	}
	sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return b64url.EncodeToString(sum)
}

// b64url is the unpadded base64url of JOSE.
var b64url = base64.RawURLEncoding

// libtrustEncoding is the base32 alphabet docker/libtrust writes key ids
// in, without padding (30 bytes are exactly 48 characters).
var libtrustEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// libtrustIDBytes is the length of the truncated SHA-256 in a libtrust id.
const libtrustIDBytes = 30

// LibtrustKeyID is the docker/libtrust fingerprint of pub, the kid that
// cesanta/docker_auth emits by default and distribution v2 looks keys up
// by: the first 240 bits of the SHA-256 of the PKIX DER public key, base32,
// in 12 colon-separated groups of 4 ("ABCD:EFGH:…"). It is "" for an
// unsupported key type.
func LibtrustKeyID(pub crypto.PublicKey) string {
	if checkPublicKey(pub) != nil {
		return ""
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return formatLibtrustID(sum[:libtrustIDBytes])
}

func formatLibtrustID(b []byte) string {
	s := libtrustEncoding.EncodeToString(b)
	var out strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			out.WriteByte(':')
		}
		out.WriteString(s[i:min(i+4, len(s))])
	}
	return out.String()
}

// parseLibtrustID decodes a key id in libtrust form back to its 30 bytes.
// It accepts only the canonical form LibtrustKeyID writes, so that two
// spellings never name one key.
func parseLibtrustID(kid string) ([]byte, bool) {
	const groups, width = 12, 4
	if len(kid) != groups*width+groups-1 {
		return nil, false
	}
	var compact strings.Builder
	for i, g := range strings.Split(kid, ":") {
		if i >= groups || len(g) != width {
			return nil, false
		}
		compact.WriteString(g)
	}
	b, err := libtrustEncoding.DecodeString(compact.String())
	if err != nil || len(b) != libtrustIDBytes {
		return nil, false
	}
	return b, true
}

// describeKeyID says which key-id scheme kid looks like, for diagnostics.
func describeKeyID(kid string) string {
	if _, ok := parseLibtrustID(kid); ok {
		return "libtrust fingerprint"
	}
	if b, err := b64url.DecodeString(kid); err == nil && len(b) == sha256.Size {
		return "RFC 7638 thumbprint"
	}
	return "opaque key id"
}

// checkPublicKey accepts the key types and sizes the verifier trusts.
func checkPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return fmt.Errorf("%w: empty RSA key", ErrKey)
		}
		if bits := k.N.BitLen(); bits > maxRSABits {
			return fmt.Errorf("%w: RSA key of %d bits is larger than %d", ErrKey, bits, maxRSABits)
		}
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return fmt.Errorf("%w: empty ECDSA key", ErrKey)
		}
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return fmt.Errorf("%w: ECDSA curve %s is not P-256, P-384 or P-521", ErrKey, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: Ed25519 key of %d bytes", ErrKey, len(k))
		}
	default:
		return fmt.Errorf("%w: unsupported public key type %T", ErrKey, pub)
	}
	return nil
}

// checkSigningKey also refuses RSA keys too short to sign with.
func checkSigningKey(key crypto.Signer) error {
	if key == nil {
		return fmt.Errorf("%w: no signing key", ErrKey)
	}
	pub := key.Public()
	if err := checkPublicKey(pub); err != nil {
		return err
	}
	if k, ok := pub.(*rsa.PublicKey); ok && k.N.BitLen() < minRSABits {
		return fmt.Errorf("%w: RSA key of %d bits is shorter than %d", ErrKey, k.N.BitLen(), minRSABits)
	}
	return nil
}

// signingAlgorithm is the one JWS algorithm wharf signs with for a key:
// ES256/384/512 by curve, RS256 for RSA (the only RSA algorithm every
// registry version accepts), EdDSA for Ed25519.
func signingAlgorithm(pub crypto.PublicKey) (jose.SignatureAlgorithm, error) {
	algs, err := keyAlgorithms(pub)
	if err != nil {
		return "", err
	}
	return algs[0], nil
}

// keyAlgorithms lists the algorithms a token signed by pub may declare.
// The curve fixes the ECDSA algorithm (RFC 7518 section 3.4).
func keyAlgorithms(pub crypto.PublicKey) ([]jose.SignatureAlgorithm, error) {
	if err := checkPublicKey(pub); err != nil {
		return nil, err
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512}, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return []jose.SignatureAlgorithm{jose.ES256}, nil
		case elliptic.P384():
			return []jose.SignatureAlgorithm{jose.ES384}, nil
		default:
			return []jose.SignatureAlgorithm{jose.ES512}, nil
		}
	default:
		return []jose.SignatureAlgorithm{jose.EdDSA}, nil
	}
}

// samePublicKey compares two public keys by value.
func samePublicKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
