// Package e2e holds wharf's black-box end-to-end tests: real clients (the OCI
// conformance suite, docker, skopeo, go-containerregistry) against a real
// `wharf serve` process started on a random loopback port, plus crash and
// memory tests that only a separate process can show.
//
// The tests see wharf only through its command line and its HTTP API, so this
// package must not import anything under wharf/internal; process handling
// lives in e2e/harness.
//
// Run them with `make test` (everything) or `go test ./e2e/...`; tools they
// need are installed by `make deps`, and `go test -short` skips them.
package e2e
