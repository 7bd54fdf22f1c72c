package storage

import "fmt"

// Upload ids are opaque tokens chosen by the registry (base64url random
// bytes). Every driver refuses anything else before it is used as a key or
// joined to a path.
const (
	minUploadIDLen = 16
	maxUploadIDLen = 128
)

// ValidUploadID reports whether id matches ^[A-Za-z0-9_-]{16,128}$. It is a
// byte loop rather than a regexp because it guards every upload call.
func ValidUploadID(id string) bool {
	if len(id) < minUploadIDLen || len(id) > maxUploadIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// CheckUploadID returns an error wrapping ErrInvalidID, which quotes at most
// the start of a hostile id, unless id is valid.
func CheckUploadID(id string) error {
	if ValidUploadID(id) {
		return nil
	}
	if len(id) > 40 {
		id = id[:40] + "…"
	}
	return fmt.Errorf("storage: upload id %q: %w", id, ErrInvalidID)
}
