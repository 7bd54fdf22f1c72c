package filesystem

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
)

// FuzzPaths checks that no upload id or digest, whatever its bytes, yields a
// path outside the driver's blobs/ and uploads/ directories, and that every
// accepted value maps to exactly the documented layout.
func FuzzPaths(f *testing.F) {
	hex256 := digest.SHA256.FromString("x").Encoded()
	hex512 := digest.SHA512.FromString("x").Encoded()
	for _, seed := range []struct{ id, dgst string }{
		{"0123456789abcdefABCDEF_-", "sha256:" + hex256},
		{"6ba7b810-9dad-11d1-80b4-00c04fd430c8", "sha512:" + hex512},
		{"../../../../etc/passwd", "sha256:../../../../etc/passwd"},
		{"a/b", "sha256/../..:" + hex256},
		{"..", "../sha256:" + hex256},
		{"", ""},
		{"abcdefghijklmnop\x00", "sha256:" + hex256 + "\x00"},
		{strings.Repeat("a", 129), "sha512:" + hex256},
		{`abcdefghijklmnop\..\..`, "sha256:" + strings.ToUpper(hex256)},
	} {
		f.Add(seed.id, seed.dgst)
	}

	d := &Driver{
		root:    "/srv/wharf",
		blobs:   "/srv/wharf/blobs",
		uploads: "/srv/wharf/uploads",
	}
	f.Fuzz(func(t *testing.T, id, dgst string) {
		if dir, err := d.uploadPath(id); err == nil {
			if !storage.ValidUploadID(id) {
				t.Fatalf("uploadPath accepted invalid id %q", id)
			}
			checkBelow(t, d.uploads, dir, 1)
			if filepath.Base(dir) != id {
				t.Fatalf("uploadPath(%q) = %q, want the id as last element", id, dir)
			}
		}
		if p, err := d.blobPath(digest.Digest(dgst)); err == nil {
			rel := checkBelow(t, d.blobs, p, 3)
			parts := strings.Split(rel, string(filepath.Separator))
			want := digest.Digest(dgst)
			if parts[0] != string(want.Algorithm()) || parts[2] != want.Encoded() || parts[1] != parts[2][:2] {
				t.Fatalf("blobPath(%q) = %q, not <algorithm>/<two hex>/<hex>", dgst, p)
			}
		}
	})
}

// checkBelow fails unless p is clean, lies strictly inside dir and is depth
// path elements below it. It returns p relative to dir.
func checkBelow(t *testing.T, dir, p string, depth int) string {
	t.Helper()
	if filepath.Clean(p) != p {
		t.Fatalf("path %q is not clean", p)
	}
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		t.Fatalf("path %q escapes %q (rel %q, %v)", p, dir, rel, err)
	}
	parts := strings.Split(rel, string(filepath.Separator))
	if len(parts) != depth {
		t.Fatalf("path %q is %d elements below %q, want %d", p, len(parts), dir, depth)
	}
	for _, part := range parts {
		if part == "" || part == "." || part == ".." || strings.ContainsRune(part, 0) {
			t.Fatalf("path %q has element %q", p, part)
		}
	}
	return rel
}
