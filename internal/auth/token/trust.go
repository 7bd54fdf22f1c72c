package token

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// CheckTrust tells whether a registry given roots as its rootcertbundle
// will accept tokens signed by signer, so that start-up can warn about the
// most common misconfiguration of the classic stack: the wrong certificate
// in the bundle, which otherwise shows only as a bare 401 on every login.
//
// signer is the token-signing certificate (*x509.Certificate), its chain
// leaf first ([]*x509.Certificate), or, for an issuer without a
// certificate, its key (crypto.Signer or crypto.PublicKey).
//
// A certificate must verify against roots the way distribution checks an
// x5c header: in the bundle itself, or chaining to it, and valid now. A
// bundle that holds the same key in another certificate is not enough for
// x5c tokens, because distribution verifies x5c first and never falls back
// to the kid. A bare key must be the key of one of the roots.
func CheckTrust(roots []*x509.Certificate, signer any) error {
	var chain []*x509.Certificate
	var pub crypto.PublicKey
	switch s := signer.(type) {
	case *x509.Certificate:
		chain, pub = []*x509.Certificate{s}, s.PublicKey
	case []*x509.Certificate:
		if len(s) == 0 {
			return fmt.Errorf("%w: empty certificate chain", ErrKey)
		}
		chain, pub = s, s[0].PublicKey
	case crypto.Signer:
		pub = s.Public()
	default:
		pub = signer
	}
	if err := checkPublicKey(pub); err != nil {
		return err
	}
	if len(roots) == 0 {
		return fmt.Errorf("%w: the root bundle is empty; a registry given it rejects every token", ErrUnknownKey)
	}
	var keyInBundle *x509.Certificate
	for _, r := range roots {
		if samePublicKey(r.PublicKey, pub) {
			keyInBundle = r
			break
		}
	}
	if chain == nil {
		if keyInBundle != nil {
			return nil
		}
		return fmt.Errorf("%w: the signing key (kid %s, libtrust %s) is not the key of any certificate in the root bundle (%s)",
			ErrUnknownKey, Thumbprint(pub), LibtrustKeyID(pub), bundleNames(roots))
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         pool,
		Intermediates: inter,
		CurrentTime:   time.Now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	switch {
	case err == nil:
		return nil
	case keyInBundle != nil:
		return fmt.Errorf("%w: the root bundle holds the signing key, but in certificate %s, not in the signing certificate %s (%v); "+
			"registries verify the x5c header against the bundle and will reject the tokens: put the signing certificate in the bundle",
			ErrUnknownKey, certName(keyInBundle), certName(chain[0]), err)
	default:
		return fmt.Errorf("%w: the signing certificate %s is not in the root bundle and does not chain to it (%v); bundle: %s",
			ErrUnknownKey, certName(chain[0]), err, bundleNames(roots))
	}
}

func bundleNames(roots []*x509.Certificate) string {
	names := make([]string, 0, min(len(roots), 8))
	for _, r := range roots[:min(len(roots), 8)] {
		names = append(names, certName(r))
	}
	if len(roots) > 8 {
		names = append(names, fmt.Sprintf("and %d more", len(roots)-8))
	}
	return strings.Join(names, ", ")
}
