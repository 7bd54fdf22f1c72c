package storagecopy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
	"wharf/internal/storage/filesystem"
)

// Kind is a storage kind a spec may name: "filesystem:/srv/wharf/blobs".
// A driver joins migrate-storage with one row in kinds.
type Kind struct {
	// Name is what comes before the first colon.
	Name string
	// Form shows the spec in messages: "filesystem:DIR".
	Form string
	// Open opens the storage that arg (what follows the colon) names. With
	// mustExist a storage that is not there is an error wrapping
	// ErrAbsent, not created empty. Nil means the kind is not built in yet.
	Open func(ctx context.Context, arg string, mustExist bool) (storage.Driver, error)
}

// Role says what a storage is opened for.
type Role int

const (
	// Source must exist: a mistyped path is an error, not an empty
	// storage.
	Source Role = iota
	// Destination is created when missing.
	Destination
	// Preview is a dry run's destination: nothing is created, and one
	// that does not exist yet reads as empty.
	Preview
)

// kinds are the storages wharf can copy from and to.
var kinds = []Kind{
	{Name: "filesystem", Form: "filesystem:DIR", Open: openFilesystem},
	{Name: "s3", Form: s3Form, Open: openS3},
}

// ErrSpec is wrapped by every error about a spec's form or kind: the
// command line is wrong and nothing was done.
var ErrSpec = errors.New("storagecopy: bad storage spec")

// ErrAbsent means a storage that must exist does not.
var ErrAbsent = errors.New("storagecopy: no such storage")

// Storage is an opened spec.
type Storage struct {
	Spec   string // as given, for messages and the report
	Kind   string
	Driver storage.Driver
}

// Open parses spec (KIND:ARG) and opens its storage for role.
func Open(ctx context.Context, spec string, role Role) (*Storage, error) {
	name, arg, ok := strings.Cut(spec, ":")
	if !ok || name == "" || arg == "" {
		return nil, fmt.Errorf("%w: %q: want KIND:ARG, one of %s", ErrSpec, spec, forms())
	}
	for _, k := range kinds {
		if k.Name != name {
			continue
		}
		if k.Open == nil {
			return nil, fmt.Errorf("%w: storage kind %s is not built in yet (built in: %s)", ErrSpec, name, builtIn())
		}
		d, err := k.Open(ctx, arg, role != Destination)
		if role == Preview && errors.Is(err, ErrAbsent) {
			d, err = absent{}, nil
		}
		if err != nil {
			return nil, err
		}
		return &Storage{Spec: spec, Kind: name, Driver: d}, nil
	}
	return nil, fmt.Errorf("%w: unknown storage kind %q in %q: want one of %s", ErrSpec, name, spec, forms())
}

func forms() string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.Form
	}
	return strings.Join(out, ", ")
}

func builtIn() string {
	var out []string
	for _, k := range kinds {
		if k.Open != nil {
			out = append(out, k.Name)
		}
	}
	return strings.Join(out, ", ")
}

// openFilesystem opens the filesystem storage rooted at dir: the blobs
// directory of a data directory (<data>/blobs), which holds blobs/ and
// uploads/.
func openFilesystem(_ context.Context, dir string, mustExist bool) (storage.Driver, error) {
	// The data directory itself is the likeliest slip: say where its
	// storage is rather than copy nothing from it or into a new tree
	// beside its database.
	if isDir(filepath.Join(dir, "blobs", "blobs")) || isFile(filepath.Join(dir, "wharf.db")) {
		return nil, fmt.Errorf("%w: %s is a wharf data directory; its storage is filesystem:%s",
			ErrSpec, dir, filepath.Join(dir, "blobs"))
	}
	if mustExist && !isDir(filepath.Join(dir, "blobs")) {
		return nil, fmt.Errorf("%w: %s holds no blobs/ directory: want the storage root of a wharf data directory, <data>/blobs", ErrAbsent, dir)
	}
	d, err := filesystem.New(dir)
	if err != nil {
		return nil, fmt.Errorf("storagecopy: %w", err)
	}
	return d, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// absent is a dry run's destination that does not exist yet: it holds
// nothing and takes nothing.
type absent struct{}

var errPreview = errors.New("storagecopy: a dry run writes nothing")

func (absent) Stat(context.Context, digest.Digest) (int64, error) { return 0, storage.ErrNotFound }
func (absent) Open(context.Context, digest.Digest) (storage.Blob, error) {
	return nil, storage.ErrNotFound
}
func (absent) Delete(context.Context, digest.Digest) error { return errPreview }
func (absent) Upload(context.Context, string, int64) (storage.Writer, error) {
	return nil, errPreview
}
func (absent) CancelUpload(context.Context, string) error { return errPreview }
