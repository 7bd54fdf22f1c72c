package tokenserver_test

import (
	"os"
	"runtime"
	"testing"
	"time"

	"wharf/internal/auth/password"
)

// TestMain gives the package's tests a password gate that waits a minute
// for a slot instead of a second. Their parallel tests share the process's
// gate, and on a loaded machine (CI with the race detector) the concurrent
// logins of TestConcurrentLogins and TestConcurrentGuesses waited more than
// a second for one of GOMAXPROCS slots and were answered 503. The gate's
// own refusals are tested by TestFullPasswordGate, which swaps in a full
// gate while no parallel test runs.
func TestMain(m *testing.M) {
	password.LimitChecks(password.NewGate(runtime.GOMAXPROCS(0), time.Minute, nil))
	os.Exit(m.Run())
}
