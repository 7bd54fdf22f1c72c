package metadata

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencontainers/go-digest"
)

// Sentinel errors. Callers test them with errors.Is.
var (
	// ErrNotFound means the repository, blob link, manifest, tag or upload
	// does not exist.
	ErrNotFound = errors.New("metadata: not found")
	// ErrMissingReference means a manifest refers to a blob or manifest that
	// is not present in its repository. The error is wrapped in a
	// *MissingReferenceError naming the digest.
	ErrMissingReference = errors.New("metadata: manifest references unknown content")
	// ErrInvalidKey means a repository name, tag, digest, upload id or
	// account name cannot be stored: too long, not UTF-8, or holding a NUL.
	ErrInvalidKey = errors.New("metadata: invalid key")
)

// MaxKeyLength is the longest repository name, tag, digest, upload id or
// account name the store holds, in bytes, on every database. It fits what
// the specifications allow: repository names of at most 255 characters
// (distribution's limit, which clients share), tags of at most 128 (the OCI
// tag grammar) and digests of at most 135 (sha512:…).
const MaxKeyLength = 255

// checkKey returns an error wrapping ErrInvalidKey unless v can be stored
// in a {{key}} column. what names v in the message ("tag", …).
func checkKey(what, v string) error {
	switch {
	case len(v) > MaxKeyLength:
		return fmt.Errorf("%w: %s is %d bytes long; the longest stored is %d", ErrInvalidKey, what, len(v), MaxKeyLength)
	case !utf8.ValidString(v):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidKey, what)
	case strings.IndexByte(v, 0) >= 0:
		return fmt.Errorf("%w: %s contains a NUL byte", ErrInvalidKey, what)
	case strings.IndexByte(v, '\n') >= 0:
		// Listings join names with newlines (dialect.joinLines); the OCI
		// grammar allows no newline either.
		return fmt.Errorf("%w: %s contains a newline", ErrInvalidKey, what)
	}
	return nil
}

// MissingReferenceError names the first reference PutManifest could not find.
type MissingReferenceError struct {
	Digest digest.Digest
	Kind   RefKind
}

func (e *MissingReferenceError) Error() string {
	return "metadata: manifest references unknown " + string(e.Kind) + " " + e.Digest.String()
}

// Unwrap makes errors.Is(err, ErrMissingReference) true.
func (e *MissingReferenceError) Unwrap() error { return ErrMissingReference }

// RefKind says what a manifest reference points at.
type RefKind string

// The kinds of manifest references.
const (
	RefBlob     RefKind = "blob"     // config or layer: must be a blob linked to the repository
	RefManifest RefKind = "manifest" // index child: must be a manifest in the repository
)

// Ref is one thing a manifest refers to and that must exist before it.
type Ref struct {
	Digest digest.Digest
	Kind   RefKind
}

// Manifest is a stored manifest with the fields the registry serves and
// indexes. Payload holds the exact bytes that were pushed.
type Manifest struct {
	Repo         string
	Digest       digest.Digest
	MediaType    string
	ArtifactType string // the manifest's artifactType, or its config media type for images (referrers API)
	Size         int64
	Payload      []byte
	Subject      digest.Digest     // "" when the manifest has no subject
	Annotations  map[string]string // manifest-level annotations, served by the referrers API
	Refs         []Ref             // checked to exist, in the repository, inside PutManifest's transaction
	CreatedAt    time.Time
}

// Descriptor is one entry of a referrers list.
type Descriptor struct {
	MediaType    string
	Digest       digest.Digest
	Size         int64
	ArtifactType string
	Annotations  map[string]string
}

// Upload is an upload session in progress. HashState is the marshalled state
// of the running hash (encoding.BinaryMarshaler) at Offset bytes.
type Upload struct {
	ID        string
	Repo      string
	Algorithm digest.Algorithm
	Offset    int64
	HashState []byte
	StartedAt time.Time
	UpdatedAt time.Time
}
