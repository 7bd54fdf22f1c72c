package filesystem

import (
	"fmt"
	"path/filepath"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
)

// Upload ids are opaque tokens chosen by the registry (UUIDs, base64url
// random bytes). Anything else is refused before it is joined to a path.
const (
	minIDLen = 16
	maxIDLen = 128
)

// validID reports whether id matches ^[A-Za-z0-9_-]{16,128}$. It is a byte
// loop rather than a regexp because it guards every upload call.
func validID(id string) bool {
	if len(id) < minIDLen || len(id) > maxIDLen {
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

// uploadDir returns root/uploads/<id>, or ErrInvalidID.
func (d *Driver) uploadDir(id string) (string, error) {
	if !validID(id) {
		return "", fmt.Errorf("storage: upload id %q: %w", truncate(id), storage.ErrInvalidID)
	}
	return filepath.Join(d.uploads, id), nil
}

// blobPath returns root/blobs/<algorithm>/<first two hex>/<hex>. Validate
// admits only registered algorithms with lowercase hex of the exact length,
// so neither component can hold a separator or a dot.
func (d *Driver) blobPath(dgst digest.Digest) (string, error) {
	if err := dgst.Validate(); err != nil {
		return "", fmt.Errorf("storage: digest %q: %w", truncate(string(dgst)), err)
	}
	enc := dgst.Encoded()
	return filepath.Join(d.blobs, string(dgst.Algorithm()), enc[:2], enc), nil
}

// truncate keeps error messages short when a caller sends a huge bogus value.
func truncate(s string) string {
	const limit = 140
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}
