package filesystem

import (
	"fmt"
	"path/filepath"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
)

// uploadPath returns root/uploads/<id>, the staged file, or ErrInvalidID.
func (d *Driver) uploadPath(id string) (string, error) {
	if err := storage.CheckUploadID(id); err != nil {
		return "", err
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
