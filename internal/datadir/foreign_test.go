package datadir_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wharf/internal/datadir"
)

// TestCreateRefusesDistributionTree: a registry:2 storage root is refused
// before anything is written into it, with the command that moves its
// images; a directory that merely has a docker/ subdirectory is not.
func TestCreateRefusesDistributionTree(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "docker", "registry", "v2", "repositories"), 0o755); err != nil {
		t.Fatal(err)
	}
	before := listTree(t, root)
	err := datadir.New(root).Create()
	if !errors.Is(err, datadir.ErrDistributionTree) {
		t.Fatalf("Create on a registry:2 root: %v; want ErrDistributionTree", err)
	}
	for _, want := range []string{root, "docker/registry/v2", "wharf import " + root + " --data NEWDIR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q: %v", want, err)
		}
	}
	if after := listTree(t, root); after != before {
		t.Errorf("Create wrote into the registry:2 tree:\nbefore %s\nafter  %s", before, after)
	}

	other := t.TempDir()
	if err := os.MkdirAll(filepath.Join(other, "docker"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := datadir.New(other).Create(); err != nil {
		t.Errorf("Create on a directory with an unrelated docker/: %v", err)
	}
}

func listTree(t *testing.T, root string) string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		names = append(names, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, " ")
}
