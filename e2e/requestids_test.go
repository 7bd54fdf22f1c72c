package e2e

import (
	"strings"
	"testing"

	"wharf/e2e/harness"
)

// checkRequestIDs fails t when a warning or an error w logged while
// serving a request does not carry the request's id (the id of one of the
// log's access lines), and returns how many did.
func checkRequestIDs(t *testing.T, w *harness.Wharf) int {
	t.Helper()
	withID, problems := harness.RequestIDProblems(w.Log())
	if len(problems) > 0 {
		t.Errorf("%d warning or error lines without their request's id:\n%s", len(problems), strings.Join(problems, "\n"))
	}
	t.Logf("%d warning and error lines logged while serving requests, each with its request id", withID)
	return withID
}
