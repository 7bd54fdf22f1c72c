// Package ociapi is the OCI Distribution API over HTTP: the /v2/ path parser,
// one handler per endpoint, and the one table that turns errors into OCI
// error responses (errors.go; writeError is the only place that does).
//
// It imports registry (what push and pull mean) and never touches storage or
// metadata directly.
package ociapi
