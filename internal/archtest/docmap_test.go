package archtest

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestArchitectureMap checks that the package map at the top of
// docs/architecture.md lists every package under internal/ exactly once,
// and nothing that is not one: the map is where a newcomer starts.
func TestArchitectureMap(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	listed, err := packageMap(string(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range slices.Sorted(maps.Keys(listPackages(t))) {
		dir, ok := strings.CutPrefix(pkg, "wharf/")
		if !ok || !strings.HasPrefix(dir, "internal/") {
			continue
		}
		switch n := listed[dir]; n {
		case 1:
		case 0:
			t.Errorf("docs/architecture.md: %s/ is not in the package map: add one line saying what it owns", dir)
		default:
			t.Errorf("docs/architecture.md: %s/ is in the package map %d times; keep one line", dir, n)
		}
		delete(listed, dir)
	}
	for _, dir := range slices.Sorted(maps.Keys(listed)) {
		if !strings.HasPrefix(dir, "internal/") {
			continue
		}
		t.Errorf("docs/architecture.md: the package map lists %s/, which is no package", dir)
	}
}

// packageMap counts the directories (without the trailing slash) that
// start the lines of the first fenced block of an architecture page.
func packageMap(md string) (map[string]int, error) {
	_, rest, ok := strings.Cut(md, "\n```\n")
	if !ok {
		return nil, errNoMap
	}
	block, _, ok := strings.Cut(rest, "\n```")
	if !ok {
		return nil, errNoMap
	}
	out := map[string]int{}
	for line := range strings.Lines(block) {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasSuffix(f[0], "/") {
			continue
		}
		out[strings.TrimSuffix(f[0], "/")]++
	}
	return out, nil
}

var errNoMap = errors.New("docs/architecture.md: no fenced package map (``` … ```) found")

func TestPackageMapParser(t *testing.T) {
	md := "# A\n\ntext\n\n```\ncmd/x/      main\ninternal/a/  one\n  continued line\ninternal/a/  again\n```\n\n```\ninternal/b/ later block\n```\n"
	got, err := packageMap(md)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["cmd/x"] != 1 || got["internal/a"] != 2 || got["internal/b"] != 0 {
		t.Errorf("packageMap = %v; want cmd/x once, internal/a twice, nothing of the later block", got)
	}
	if _, err := packageMap("no map here"); err == nil {
		t.Error("a page without a fenced block: no error")
	}
}
