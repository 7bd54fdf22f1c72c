package cli

import (
	"strings"
	"testing"
	"time"

	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
)

// TestTokenKeyCommands: rotate refuses an empty set (a server adds the
// first key), lists the set after a rotation, the new key signing and the
// old one verifying until a time; a configured token.key is refused with
// the fix.
func TestTokenKeyCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	wantFail(t, "", "start `wharf serve` once", "token-key", "rotate", "--data", data)
	meta, err := metadata.Open(t.Context(), config.DriverSQLite, datadir.New(data).Database(), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := meta.AddTokenKey(t.Context(), 0, metadata.TokenKey{KID: "first-kid", PrivateKey: "unused", Certificate: "unused", Created: now}, now, now); err != nil {
		t.Fatal(err)
	}
	meta.Close()
	out := mustCLI(t, "", "token-key", "rotate", "--data", data)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[1], "signing") || strings.Contains(lines[1], "first-kid") ||
		!strings.HasPrefix(lines[2], "first-kid") || !strings.Contains(lines[2], "verifying until") {
		t.Fatalf("wharf token-key rotate printed:\n%s", out)
	}
	if ls := mustCLI(t, "", "token-key", "ls", "--data", data); ls != out {
		t.Errorf("ls after rotate:\n%s\nwant what rotate printed:\n%s", ls, out)
	}
	if js := mustCLI(t, "", "token-key", "ls", "--json", "--data", data); !strings.Contains(js, `"kid": "first-kid"`) || strings.Contains(js, "unused") {
		t.Errorf("ls --json shows no kid, or a private key:\n%s", js)
	}
	cfg := writeFile(t, "token:\n  key: /nonexistent/token.key\n  certificate: /nonexistent/token.crt\n")
	wantFail(t, "", "token.key is configured", "token-key", "ls", "--data", data, "--config", cfg)
}
