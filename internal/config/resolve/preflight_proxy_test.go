package resolve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wharf/internal/config"
)

// TestSectionFilesProxy: an upstream's password_file and ca_file are read
// before the server starts, and the error names the key and the file,
// never what a secret file holds.
func TestSectionFilesProxy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pw := filepath.Join(dir, "hub.token")
	if err := os.WriteFile(pw, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c config.Config
	c.Proxy.Upstreams = []config.Upstream{
		{Prefix: "hub", URL: "https://registry-1.docker.io", Username: "u", PasswordFile: pw},
		{Prefix: "corp", URL: "https://corp", Username: "u", PasswordFile: filepath.Join(dir, "missing"), CAFile: notPEM},
	}
	errs := checkSectionFiles(c)
	if len(errs) != 2 {
		t.Fatalf("checkSectionFiles = %v; want the corp upstream's two files", errs)
	}
	for i, key := range []string{"proxy.upstreams[1].ca_file", "proxy.upstreams[1].password_file"} {
		if msg := errs[i].Error(); !strings.Contains(msg, key) || strings.Contains(msg, "s3cret") {
			t.Errorf("error %q: want it to name %s, without the file's content", msg, key)
		}
	}
}
