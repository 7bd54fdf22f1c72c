package accounts

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"wharf/internal/auth"
)

// Access tokens look like wharf_<id>_<secret>: the id (12 base32
// characters, 60 bits) is public and names the token; the secret is 52
// base32 characters (256 random bits). Only lower-case letters, digits
// and underscores: a double click selects the whole token.
const (
	tokenPrefix = auth.TokenPrefix
	idLen       = 12
	secretLen   = 52
	tokenLen    = len(tokenPrefix) + idLen + 1 + secretLen
)

// newToken returns a fresh token and its id.
func newToken() (id string, token auth.Secret) {
	id = strings.ToLower(rand.Text())[:idLen]
	secret := strings.ToLower(rand.Text() + rand.Text())[:secretLen]
	return id, auth.Secret(tokenPrefix + id + "_" + secret)
}

// TokenID returns the id of a string shaped like an access token, and
// whether it is one. It says nothing about whether the token is valid.
func TokenID(s auth.Secret) (string, bool) {
	v := s.Reveal()
	if len(v) != tokenLen || !strings.HasPrefix(v, tokenPrefix) || v[len(tokenPrefix)+idLen] != '_' {
		return "", false
	}
	for i := len(tokenPrefix); i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || '2' <= c && c <= '7' || c == '_' && i == len(tokenPrefix)+idLen) {
			return "", false
		}
	}
	return v[len(tokenPrefix) : len(tokenPrefix)+idLen], true
}

// HashToken is how tokens are stored: the hex SHA-256 of the whole token.
func HashToken(token auth.Secret) string {
	sum := sha256.Sum256([]byte(token.Reveal()))
	return hex.EncodeToString(sum[:])
}

// tokenMatches compares a token with a stored hash in constant time.
func tokenMatches(token auth.Secret, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(HashToken(token)), []byte(hash)) == 1
}
