package importer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// v2Layout is distribution's storage layout below its root directory.
const v2Layout = "docker/registry/v2"

// Source is a registry:2 storage tree opened for reading.
type Source struct {
	// V2 is the absolute path of the docker/registry/v2 directory read.
	V2 string
	// Found says how V2 was found from the directory given, for the
	// operator: which of the accepted forms it was.
	Found string
	root  *os.Root
}

// OpenSource finds the registry:2 tree dir names: dir is its storage root
// (distribution's rootdirectory, which holds docker/registry/v2), its v2
// directory itself, or the parent of the storage root when only one
// subdirectory is one. More than one candidate is an error that lists
// them.
func OpenSource(dir string) (*Source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("importer: %s: %w", dir, err)
	}
	type candidate struct{ v2, found string }
	var found []candidate
	if isDir(filepath.Join(abs, v2Layout)) {
		found = append(found, candidate{filepath.Join(abs, v2Layout), abs + " is its storage root"})
	}
	if filepath.Base(abs) == "v2" && (isDir(filepath.Join(abs, "repositories")) || isDir(filepath.Join(abs, "blobs"))) {
		found = append(found, candidate{abs, abs + " is its v2 directory"})
	}
	if len(found) == 0 {
		subs, _ := filepath.Glob(filepath.Join(abs, "*", v2Layout))
		for _, s := range subs {
			if isDir(s) {
				found = append(found, candidate{s, abs + " is the parent of its storage root " + strings.TrimSuffix(s, "/"+v2Layout)})
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("importer: no registry:2 storage in %s: give the directory that holds %s "+
			"(distribution's storage.filesystem.rootdirectory, /var/lib/registry in the registry:2 image)", abs, v2Layout)
	case 1:
	default:
		var list []string
		for _, c := range found {
			list = append(list, c.v2)
		}
		return nil, fmt.Errorf("importer: %s holds several registry:2 trees (%s): name one of them", abs, strings.Join(list, ", "))
	}
	root, err := os.OpenRoot(found[0].v2)
	if err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	return &Source{V2: found[0].v2, Found: found[0].found, root: root}, nil
}

// Close releases the tree.
func (s *Source) Close() error { return s.root.Close() }

// Contains reports whether the directory p is the tree or below its
// storage root: wharf must not write there.
func (s *Source) Contains(p string) bool {
	abs, err := filepath.Abs(p)
	if err != nil {
		return false
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	top := strings.TrimSuffix(s.V2, "/"+v2Layout)
	return abs == top || strings.HasPrefix(abs, top+string(filepath.Separator))
}

// Path is the absolute path of rel, a slash-separated path below V2, for
// messages.
func (s *Source) Path(rel string) string { return filepath.Join(s.V2, filepath.FromSlash(rel)) }

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// errEscapes is what a path that leaves the tree (through a symbolic link)
// is refused with.
var errEscapes = errors.New("a symbolic link leads out of the registry:2 tree; skipped")

// errMissing is a path the tree does not have.
var errMissing = errors.New("missing")

// explain turns os.Root's errors into the operator's words.
func explain(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes") {
		return errEscapes
	}
	if errors.Is(err, fs.ErrNotExist) {
		return errMissing
	}
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// stat is os.Stat within the tree: symbolic links inside it are followed,
// one that leaves it is an error.
func (s *Source) stat(rel string) (fs.FileInfo, error) {
	fi, err := s.root.Stat(rel)
	if err != nil {
		return nil, explain(err)
	}
	return fi, nil
}

// readDir lists a directory of the tree, sorted by name.
func (s *Source) readDir(rel string) ([]fs.DirEntry, error) {
	f, err := s.root.Open(rel)
	if err != nil {
		return nil, explain(err)
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, explain(err)
	}
	// File.ReadDir keeps the directory's order; a sorted one makes the
	// import, its progress and --dry-run the same on every run.
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

// entryIsDir tells whether a directory entry is a directory, following a
// symbolic link as long as it stays in the tree.
func (s *Source) entryIsDir(rel string, e fs.DirEntry) (bool, error) {
	if e.Type()&fs.ModeSymlink == 0 {
		return e.IsDir(), nil
	}
	fi, err := s.stat(rel)
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}

// open opens a regular file of the tree for reading. O_NONBLOCK keeps a
// FIFO planted in the tree from blocking the import; anything but a
// regular file is refused.
func (s *Source) open(rel string) (*os.File, fs.FileInfo, error) {
	f, err := s.root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, explain(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	return f, fi, nil
}

// readSmall reads a whole regular file of at most max bytes.
func (s *Source) readSmall(rel string, max int64) ([]byte, error) {
	f, fi, err := s.open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > max {
		return nil, fmt.Errorf("%d bytes, more than the %d expected", fi.Size(), max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("more than the %d bytes expected", max)
	}
	return b, nil
}

// blobData is the path of a blob's bytes below v2.
func blobData(alg, hex string) string {
	return path.Join("blobs", alg, hex[:2], hex, "data")
}
