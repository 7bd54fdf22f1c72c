// Package harness starts the real programs the end-to-end tests talk to: the
// wharf binary (built once per test binary from ./cmd/wharf) and a private
// Docker daemon. It owns process lifecycle — random ports, log files under the
// test's temporary directory, log tails on failure, and no process left running
// after a test — so the tests themselves only speak HTTP and client CLIs.
// Traffic records what the tests' registry clients exchange with a server
// (statuses, request ids, latency by route, bytes), for tests under load.
//
// It is imported only by tests under e2e/ and must not import anything under
// wharf/internal: the tests are black-box and see the server only through its
// command line and its network API.
//
// Missing tools (docker, dockerd, skopeo, busybox, the conformance binary) make
// a test fail with a message naming `make deps`; `go test -short` skips every
// end-to-end test instead, so a skip is never mistaken for a pass.
package harness
