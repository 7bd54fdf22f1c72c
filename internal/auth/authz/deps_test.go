package authz

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the rule of doc.go: no HTTP, no storage, no
// authenticators in the authorization engine.
func TestDependencies(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "net/http" || strings.HasPrefix(dep, "wharf/") && dep != "wharf/internal/auth" && dep != "wharf/internal/auth/authz" {
			t.Errorf("authz depends on %s", dep)
		}
	}
}
