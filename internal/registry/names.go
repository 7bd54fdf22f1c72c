package registry

import (
	// Register the hash functions go-digest needs for sha256 and sha512.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"fmt"
	"regexp"

	"github.com/opencontainers/go-digest"
)

// MaxNameLength bounds a repository name, as distribution does; it keeps
// index keys and log lines small.
const MaxNameLength = 255

var (
	// nameRE is the OCI distribution spec's repository name grammar.
	nameRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	// tagRE is the OCI distribution spec's tag grammar.
	tagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// ValidName reports whether name is a valid repository name. Because the
// grammar admits neither "." nor ".." as components nor empty components, a
// valid name can never traverse a path.
func ValidName(name string) bool {
	return len(name) <= MaxNameLength && nameRE.MatchString(name)
}

// ValidTag reports whether tag is a valid tag.
func ValidTag(tag string) bool { return tagRE.MatchString(tag) }

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
