package metadata_test

import (
	"os"
	"testing"

	"wharf/internal/testserver"
)

// servers are the PostgreSQL and MariaDB servers the tests of this package
// share, each test in a database of its own.
var servers testserver.Shared

func TestMain(m *testing.M) {
	if path := os.Getenv(writerChildEnv); path != "" {
		os.Exit(writeAsAnotherProcess(path))
	}
	os.Exit(servers.Run(m))
}
