package filesystem

import (
	"os"
	"path/filepath"
	"testing"
)

// TestProbe: a store whose upload directory takes writes passes and is
// left as it was; one whose upload directory is gone fails.
func TestProbe(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	d, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Probe(t.Context()); err != nil {
		t.Fatalf("Probe of a fresh store: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(root, uploadsDir)); len(left) != 0 {
		t.Errorf("Probe left %d files behind", len(left))
	}
	if err := os.Rename(filepath.Join(root, uploadsDir), filepath.Join(root, "away")); err != nil {
		t.Fatal(err)
	}
	if err := d.Probe(t.Context()); err == nil {
		t.Error("Probe passed without an upload directory")
	}
}
