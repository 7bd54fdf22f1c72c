package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body
// with the endpoint's secret (GitHub's scheme, which receivers know how to
// check).
const SignatureHeader = "X-Wharf-Signature"

// Sign returns the SignatureHeader value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports, in constant time, whether sig is body's signature under
// secret: what a receiver does.
func Verify(secret, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(sig))
}
