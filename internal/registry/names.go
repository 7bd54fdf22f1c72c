package registry

import (
	// Register the hash functions go-digest needs for sha256 and sha512.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
)

// MaxNameLength bounds a repository name, as distribution does; it keeps
// index keys and log lines small.
const MaxNameLength = 255

// ValidName reports whether name is a valid repository name: the OCI
// distribution spec's grammar,
//
//	[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*
//
// scanned by hand because every request checks it and the regular
// expression took a twentieth of a cached manifest GET (names_test.go
// holds the expression and checks the two agree). Because the grammar
// admits neither "." nor ".." as components nor empty components, a valid
// name can never traverse a path.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLength {
		return false
	}
	i := 0
	for {
		// A component: runs of [a-z0-9] joined by one separator each.
		if i >= len(name) || !lowerAlnum(name[i]) {
			return false
		}
		for i < len(name) && lowerAlnum(name[i]) {
			i++
		}
		for i < len(name) && name[i] != '/' {
			start := i
			for i < len(name) && (name[i] == '.' || name[i] == '_' || name[i] == '-') {
				i++
			}
			if sep := name[start:i]; sep != "." && sep != "_" && sep != "__" && strings.Trim(sep, "-") != "" {
				return false
			}
			if i >= len(name) || !lowerAlnum(name[i]) {
				return false
			}
			for i < len(name) && lowerAlnum(name[i]) {
				i++
			}
		}
		if i == len(name) {
			return true
		}
		i++ // the '/'
	}
}

func lowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// ValidTag reports whether tag is a valid tag: the OCI distribution spec's
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}, scanned by hand as ValidName is.
func ValidTag(tag string) bool {
	if len(tag) == 0 || len(tag) > 128 || tag[0] == '.' || tag[0] == '-' {
		return false
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// ParseDigest parses and validates a digest string. Only sha256 and sha512
// are accepted: they are what the OCI image spec registers.
func ParseDigest(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil {
		if len(s) > 80 {
			s = s[:80] + "…"
		}
		return "", fmt.Errorf("%w: %q: %v", ErrDigestInvalid, s, err)
	}
	switch d.Algorithm() {
	case digest.SHA256, digest.SHA512:
		return d, nil
	default:
		return "", fmt.Errorf("%w: %s", ErrDigestUnsupported, d.Algorithm())
	}
}
