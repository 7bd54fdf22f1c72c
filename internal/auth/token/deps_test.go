package token

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the rule of doc.go: no net/http, and of wharf only
// the shared vocabulary in package auth.
func TestDependencies(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "net/http" || strings.HasPrefix(dep, "net/http/") {
			t.Errorf("imports %s", dep)
		}
		if strings.HasPrefix(dep, "wharf/") && dep != "wharf/internal/auth" && dep != "wharf/internal/auth/token" {
			t.Errorf("imports %s", dep)
		}
	}
}
