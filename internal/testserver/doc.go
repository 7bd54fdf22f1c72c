// Package testserver starts the real servers that tests of database and
// directory backends talk to: PostgreSQL, MariaDB, slapd and the like, each a
// Debian binary run as a child process of the test; and, in process, a real
// OpenID provider (zitadel's example OP, StartOIDCProvider) and a test
// double of GitHub's and GitLab's OAuth and REST endpoints (StartForge),
// services tests cannot reach.
//
// It owns their lifecycle the way e2e/harness owns wharf's and dockerd's:
// random free loopback ports, a private data directory and a log file under
// the test's temporary directory, the log's tail on failure, and no process
// left running after the test (cleanup kills the whole process group).
//
// A missing binary fails the test with a message naming `make deps`; only
// `go test -short` skips, so a skip is never mistaken for a pass. It is
// imported by tests only.
package testserver
