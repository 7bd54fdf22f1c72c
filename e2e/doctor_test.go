package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"wharf/e2e/harness"
	"wharf/internal/auth/token"
)

// TestDoctor runs `wharf doctor` on a split setup (a running `wharf auth`
// and a distribution config file for `wharf registry`): a sound one passes
// with exit status 0, each classic mistake fails with its fix.
func TestDoctor(t *testing.T) {
	harness.SkipIfShort(t)
	_, _, keyPath, certPath := signingPair(t, token.KeyECDSAP256, "auth-server")
	_, _, _, otherCert := signingPair(t, token.KeyECDSAP256, "someone-else")
	dir := t.TempDir()
	authCfg := filepath.Join(dir, "auth_config.yml")
	if err := os.WriteFile(authCfg, []byte(fmt.Sprintf(`server:
  addr: ":5001"
token:
  issuer: "Auth Service"
  expiration: 900
  certificate: %q
  key: %q
users:
  "ci":
    password: %q
acl:
  - match: {account: "ci"}
    actions: ["pull"]
`, certPath, keyPath, bcryptHash(t, "ci-pw"))), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := harness.StartWharfCommand(t, nil, "auth", "--config", authCfg, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	bin := harness.WharfBinary(t)
	doctor := func(t *testing.T, issuer, bundle string) (string, error) {
		t.Helper()
		regCfg := filepath.Join(t.TempDir(), "config.yml")
		if err := os.WriteFile(regCfg, []byte(fmt.Sprintf(`version: 0.1
storage:
  filesystem:
    rootdirectory: %q
auth:
  token:
    realm: "http://%s/auth"
    service: "Docker registry"
    issuer: %s
    rootcertbundle: %q
`, t.TempDir(), auth.Addr(), issuer, bundle)), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(t.Context(), bin, "doctor", "--registry-config", regCfg, "--auth-config", authCfg, "--user", "ci", "--password-stdin")
		cmd.Stdin = strings.NewReader("ci-pw\n")
		cmd.Env = withoutPrefix(os.Environ(), "REGISTRY_")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Run("sound", func(t *testing.T) {
		out, err := doctor(t, `"Auth Service"`, certPath)
		if err != nil {
			t.Fatalf("doctor failed on a sound setup: %v\n%s", err, out)
		}
		for _, want := range []string{"ok    issuer", "ok    rootcertbundle", "ok    realm", "ok    token verification", "ok    clock"} {
			if !strings.Contains(out, want) {
				t.Errorf("doctor output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("quoted issuer", func(t *testing.T) {
		out, err := doctor(t, `'"Auth Service"'`, certPath)
		if err == nil {
			t.Fatalf("doctor passed a quoted issuer:\n%s", out)
		}
		if !strings.Contains(out, "differ only by quotes") || !strings.Contains(out, "fix:") {
			t.Errorf("doctor did not explain the quotes:\n%s", out)
		}
	})
	t.Run("bundle without the signing certificate", func(t *testing.T) {
		out, err := doctor(t, `"Auth Service"`, otherCert)
		if err == nil {
			t.Fatalf("doctor passed a wrong bundle:\n%s", out)
		}
		if !strings.Contains(out, "FAIL  rootcertbundle") || !strings.Contains(out, "FAIL  token verification") {
			t.Errorf("doctor did not name the bundle problem:\n%s", out)
		}
	})
}
