// Package ociapi is the OCI Distribution API over HTTP: the /v2/ path parser,
// one handler per endpoint, and the map from registry errors to errcode's
// codes (errors.go; writeError is the only place that answers an error, in
// errcode's OCI format).
//
// It imports registry (what push and pull mean), edge (the client's address
// and public host) and errcode, and never touches storage or metadata
// directly.
package ociapi
