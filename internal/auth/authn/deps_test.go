package authn_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the rule of doc.go for authn and every backend
// under it: no HTTP (the token server owns it), no authz, no storage.
func TestDependencies(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "./...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "net/http" || strings.HasPrefix(dep, "wharf/") && !strings.HasPrefix(dep, "wharf/internal/auth/authn") && dep != "wharf/internal/auth" {
			t.Errorf("authn depends on %s", dep)
		}
	}
}
