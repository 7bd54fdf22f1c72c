package token

import (
	"bytes"
	"crypto"
	"encoding/json"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
)

// JWK is one public key of a JSON Web Key Set (RFC 7517) and its key id.
type JWK struct {
	// KeyID is the "kid" member. MarshalJWKS fills in the RFC 7638
	// thumbprint when it is empty.
	KeyID string
	// Algorithm is the optional "alg" member; MarshalJWKS fills it in.
	Algorithm string
	// Key is an *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
	Key crypto.PublicKey
}

// maxJWKSSize bounds a JWK Set; real ones hold a handful of keys.
const maxJWKSSize = 1 << 20

// ParseJWKS reads a JWK Set of public signing keys. A key with private or
// symmetric material, a "use" other than "sig", an "alg" that is not an
// allowed asymmetric algorithm for its key, or a kid given to two different
// keys is an error: a JWK Set given to a registry must hold nothing secret
// and nothing ambiguous.
func ParseJWKS(data []byte) ([]JWK, error) {
	if len(data) > maxJWKSSize {
		return nil, fmt.Errorf("%w: JWK Set larger than %d bytes", ErrKey, maxJWKSSize)
	}
	var set struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("%w: JWK Set: %w", ErrKey, err)
	}
	if set.Keys == nil {
		return nil, fmt.Errorf(`%w: JWK Set has no "keys" member`, ErrKey)
	}
	out := make([]JWK, 0, len(*set.Keys))
	for i, raw := range *set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("%w: JWK Set key %d: %w", ErrKey, i, err)
		}
		if !k.IsPublic() {
			return nil, fmt.Errorf("%w: JWK Set key %d (kid %q) holds private or symmetric key material; publish public keys only",
				ErrKey, i, k.KeyID)
		}
		if k.Use != "" && k.Use != "sig" {
			return nil, fmt.Errorf(`%w: JWK Set key %d (kid %q) has use %q, not "sig"`, ErrKey, i, k.KeyID, k.Use)
		}
		if err := checkPublicKey(k.Key); err != nil {
			return nil, fmt.Errorf("JWK Set key %d (kid %q): %w", i, k.KeyID, err)
		}
		if k.Algorithm != "" {
			algs, _ := keyAlgorithms(k.Key)
			if !slices.Contains(algs, jose.SignatureAlgorithm(k.Algorithm)) {
				return nil, fmt.Errorf("%w: JWK Set key %d (kid %q) declares alg %q; this key signs with %q",
					ErrKey, i, k.KeyID, k.Algorithm, algs)
			}
		}
		for _, prev := range out {
			if k.KeyID != "" && prev.KeyID == k.KeyID && !samePublicKey(prev.Key, k.Key) {
				return nil, fmt.Errorf("%w: JWK Set gives kid %q to two different keys", ErrKey, k.KeyID)
			}
		}
		out = append(out, JWK{KeyID: k.KeyID, Algorithm: k.Algorithm, Key: k.Key})
	}
	return out, nil
}

// MarshalJWKS writes keys as a JWK Set with "use":"sig", the signing
// algorithm and, unless given, the RFC 7638 thumbprint as kid. It is what a
// /.well-known/jwks.json endpoint serves and what a distribution v3
// registry's auth.token.jwks option reads: give it a JWK with the
// LibtrustKeyID as KeyID to let v3 verify docker_auth's default tokens.
func MarshalJWKS(keys ...JWK) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for i, k := range keys {
		alg, err := signingAlgorithm(k.Key)
		if err != nil {
			return nil, fmt.Errorf("JWK %d: %w", i, err)
		}
		if k.Algorithm != "" {
			algs, _ := keyAlgorithms(k.Key)
			if !slices.Contains(algs, jose.SignatureAlgorithm(k.Algorithm)) {
				return nil, fmt.Errorf("%w: JWK %d: alg %q does not fit this key; it signs with %q", ErrKey, i, k.Algorithm, algs)
			}
			alg = jose.SignatureAlgorithm(k.Algorithm)
		}
		kid := k.KeyID
		if kid == "" {
			kid = Thumbprint(k.Key)
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Key, KeyID: kid, Algorithm: string(alg), Use: "sig"})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(set); err != nil {
		return nil, fmt.Errorf("%w: JWK Set: %w", ErrKey, err)
	}
	return buf.Bytes(), nil
}
