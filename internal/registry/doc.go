// Package registry says what push and pull mean: upload sessions that hash
// while they receive, blobs linked into repositories, manifests validated and
// indexed with their references, tags, and the referrers index.
//
// It composes a storage.Driver (bytes) and a metadata.Store (everything else)
// and returns errors with sentinels defined here; it never imports net/http —
// ociapi turns its errors into responses.
package registry
