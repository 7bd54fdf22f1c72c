package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/datadir"
)

// registryTree writes a registry:2 storage root with one repository that
// links one blob, and returns it.
func registryTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	content := []byte("a layer")
	d := digest.FromBytes(content)
	v2 := filepath.Join(root, "docker", "registry", "v2")
	files := map[string][]byte{
		filepath.Join(v2, "blobs", "sha256", d.Encoded()[:2], d.Encoded(), "data"):                 content,
		filepath.Join(v2, "repositories", "team", "app", "_layers", "sha256", d.Encoded(), "link"): []byte(d.String()),
	}
	for p, b := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestImportRefusals: wharf import stops, with the reason and the fix and
// without writing, when wharf serve holds the data directory (naming its
// process), when the data directory would be inside the tree it reads,
// and when the settings have a problem; --dry-run with problems fails
// and creates nothing.
func TestImportRefusals(t *testing.T) {
	t.Parallel()
	tree := registryTree(t)

	held := t.TempDir()
	lock, err := datadir.New(held).Lock()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	wantFail(t, "", "stop wharf serve first", "import", tree, "--data", held)
	wantFail(t, "", "process "+strconv.Itoa(os.Getpid())+" ", "import", tree, "--data", held)

	inside := filepath.Join(tree, "wharf-data")
	wantFail(t, "", "is inside the registry:2 tree, which is only read", "import", tree, "--data", inside)
	if _, err := os.Stat(inside); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("wharf import created %s inside the tree: %v", inside, err)
	}

	bad := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(bad, []byte("log:\n  levle: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	absent := filepath.Join(t.TempDir(), "absent")
	wantFail(t, "", `unknown key "levle"`, "import", tree, "--config", bad, "--data", absent)
	if _, err := os.Stat(absent); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("wharf import with a bad config created the data directory: %v", err)
	}

	if err := os.WriteFile(filepath.Join(tree, "docker", "registry", "v2", "repositories", "team", "app", "_layers", "sha256",
		digest.FromBytes([]byte("a layer")).Encoded(), "link"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, "", "import", tree, "--data", absent, "--dry-run")
	if err == nil || !strings.Contains(err.Error(), "1 problems") || !strings.Contains(out, "the link does not hold a digest") {
		t.Errorf("--dry-run of a tree with a garbage link: %v\n%s", err, out)
	}
	if _, err := os.Stat(absent); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("--dry-run created the data directory: %v", err)
	}
}
