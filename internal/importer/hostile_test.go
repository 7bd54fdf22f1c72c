package importer_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/importer"
)

// TestReadHostileTree plants one defect at a time in a good tree: each is
// a problem that names the path and what is wrong, the rest of the tree is
// still planned and imported, nothing panics, and nothing is written into
// the tree or outside wharf's data.
func TestReadHostileTree(t *testing.T) {
	t.Parallel()
	layer := digest.FromBytes([]byte("layer bytes of app"))
	cases := []struct {
		name string
		// plant damages f and returns the path the problem must name.
		plant func(t *testing.T, f *fixture) string
		want  string
		// lost says team/app:1.0 is not imported.
		lost bool
	}{
		{"symlink leaving the tree", func(t *testing.T, f *fixture) string {
			outside := filepath.Join(t.TempDir(), "secret")
			if err := os.WriteFile(outside, []byte("layer bytes of app"), 0o600); err != nil {
				t.Fatal(err)
			}
			p := f.v2(blobPath(layer)...)
			replace(t, p, func() error { return os.Symlink(outside, p) })
			return p
		}, "symbolic link leads out of the registry:2 tree", true},
		{"link file with garbage", func(t *testing.T, f *fixture) string {
			p := f.v2(repoPath("team/app", "_manifests", "tags", "latest", "current", "link")...)
			f.write([]byte("sha256:../../../../etc/passwd"), repoPath("team/app", "_manifests", "tags", "latest", "current", "link")...)
			return p
		}, "the link does not hold a digest", false},
		{"oversized link file", func(t *testing.T, f *fixture) string {
			rel := repoPath("team/app", "_layers", "sha256", layer.Encoded(), "link")
			f.write([]byte(strings.Repeat("a", 1<<20)), rel...)
			return f.v2(rel...)
		}, "more than the 256 expected", true},
		{"link naming another digest", func(t *testing.T, f *fixture) string {
			rel := repoPath("team/app", "_manifests", "revisions", "sha256", f.app.Encoded(), "link")
			f.write([]byte(f.untagged.String()), rel...)
			return f.v2(rel...)
		}, "the link names " + "sha256:", true},
		{"directory that is no digest", func(t *testing.T, f *fixture) string {
			rel := repoPath("team/app", "_layers", "sha256", "zz", "link")
			f.write([]byte(layer.String()), rel...)
			return f.v2(repoPath("team/app", "_layers", "sha256", "zz")...)
		}, "not a digest directory", false},
		{"invalid repository name", func(t *testing.T, f *fixture) string {
			f.image("Team/UPPER", "upper", "1")
			return f.v2("repositories", "Team", "UPPER")
		}, `"Team/UPPER" is not a valid repository name`, false},
		{"invalid tag name", func(t *testing.T, f *fixture) string {
			f.tag("team/app", ".hidden", f.app)
			return f.v2(repoPath("team/app", "_manifests", "tags", ".hidden")...)
		}, `".hidden" is not a valid tag`, false},
		{"manifest that does not parse", func(t *testing.T, f *fixture) string {
			d := f.manifest("team/app", []byte(`{"schemaVersion": 2, "mediaType": `), "broken")
			return f.v2(blobPath(d)...)
		}, "does not parse", false},
		{"corrupt manifest", func(t *testing.T, f *fixture) string {
			p := f.v2(blobPath(f.app)...)
			f.write([]byte(`{"schemaVersion":2}`), blobPath(f.app)...)
			return p
		}, "corrupt", true},
		{"missing blob", func(t *testing.T, f *fixture) string {
			p := f.v2(blobPath(layer)...)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			return p
		}, "missing", true},
		{"FIFO as a blob", func(t *testing.T, f *fixture) string {
			p := f.v2(blobPath(layer)...)
			replace(t, p, func() error { return syscall.Mkfifo(p, 0o644) })
			return p
		}, "not a regular file", true},
		{"tag of a manifest that is not a revision", func(t *testing.T, f *fixture) string {
			f.tag("team/app", "ghost", digest.FromString("nowhere"))
			return f.v2(repoPath("team/app", "_manifests", "tags", "ghost")...)
		}, "tag ghost points at", false},
		{"symlinked repository directory leaving the tree", func(t *testing.T, f *fixture) string {
			p := f.v2("repositories", "escape")
			if err := os.Symlink(t.TempDir(), p); err != nil {
				t.Fatal(err)
			}
			return p
		}, "symbolic link leads out", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			where := tc.plant(t, f)
			before := snapshot(t, f.root)
			src, err := importer.OpenSource(f.root)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			plan, err := src.Read(t.Context())
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			tg := newTarget(t)
			sum, err := importer.Import(t.Context(), src, plan, tg.Target, importer.Options{Link: true}, importer.NewProgress(&strings.Builder{}, false, 0))
			if !errors.Is(err, importer.ErrProblems) {
				t.Fatalf("Import: %v; want ErrProblems", err)
			}
			found := false
			for _, p := range sum.Problems {
				if strings.HasPrefix(p.Path, where) && strings.Contains(p.Message, tc.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem at %s saying %q in:\n%v", where, tc.want, sum.Problems)
			}
			if _, err := tg.Registry.ServeManifest(t.Context(), "a/b/c/multi", "v1", false); err != nil {
				t.Errorf("the undamaged repository was not imported: %v", err)
			}
			_, err = tg.Registry.ServeManifest(t.Context(), "team/app", "1.0", false)
			if lost := err != nil; lost != tc.lost {
				t.Errorf("team/app:1.0: %v; want lost=%v", err, tc.lost)
			}
			if after := snapshot(t, f.root); after != before {
				t.Errorf("the import changed the tree:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// replace removes the file p and makes something else there.
func replace(t *testing.T, p string, make func() error) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := make(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenSource accepts the storage root, its v2 directory and its parent
// when only one tree is below, says which it found, and refuses a
// directory with no tree or several with a message that names them.
func TestOpenSource(t *testing.T) {
	t.Parallel()
	one := newTree(t)
	parent := filepath.Dir(one.root)
	two := t.TempDir()
	for _, n := range []string{"x", "y"} {
		if err := os.MkdirAll(filepath.Join(two, n, "docker", "registry", "v2", "repositories"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, dir, found, err string
	}{
		{"storage root", one.root, "is its storage root", ""},
		{"v2 directory", one.v2(), "is its v2 directory", ""},
		{"parent of the root", parent, "is the parent of its storage root", ""},
		{"nothing", t.TempDir(), "", "no registry:2 storage in"},
		{"two trees", two, "", "holds several registry:2 trees"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := importer.OpenSource(tc.dir)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("OpenSource(%s): %v; want %q", tc.dir, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenSource(%s): %v", tc.dir, err)
			}
			defer src.Close()
			if src.V2 != one.v2() || !strings.Contains(src.Found, tc.found) {
				t.Errorf("OpenSource(%s) = %s (%s); want %s (%s)", tc.dir, src.V2, src.Found, one.v2(), tc.found)
			}
			if !src.Contains(filepath.Join(one.root, "wharf-data")) || src.Contains(filepath.Join(parent, "elsewhere")) {
				t.Errorf("Contains does not tell the tree from its neighbours")
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true}, {"0", 0, true}, {"1000", 1000, true}, {"50MB", 50e6, true}, {"50 MB/s", 50e6, true},
		{"200MiB", 200 << 20, true}, {"1.5GB", 1.5e9, true}, {"-1MB", 0, false}, {"fast", 0, false}, {"10XB", 0, false},
	} {
		got, err := importer.ParseRate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
