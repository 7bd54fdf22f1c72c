package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"wharf/internal/storage"
)

var _ storage.Linker = (*Driver)(nil)

// LinkUpload stages upload id as a hard link to path; see storage.Linker.
// The link is made by path and then compared with want, so that nothing
// but the file the caller opened (and verifies next) can become a blob. A
// linked blob keeps the source file's owner and mode: it is the same
// inode.
func (d *Driver) LinkUpload(ctx context.Context, id, path string, want fs.FileInfo) (storage.Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := d.uploadPath(id)
	if err != nil {
		return nil, err
	}
	if err := os.Link(path, p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if err = d.remakeUploads(); err == nil {
				err = os.Link(path, p)
			}
		}
		if err != nil {
			// EXDEV (another filesystem), EPERM (fs.protected_hardlinks
			// and a file of another user), EMLINK: all mean "copy".
			return nil, fmt.Errorf("%w: %w", storage.ErrNotLinkable, err)
		}
	}
	// link(2) does not follow a symbolic link named by path: it links the
	// link. Lstat sees what was made, and only a regular file that is the
	// caller's may stay.
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() || !os.SameFile(fi, want) {
		_ = d.removeUpload(p)
		return nil, fmt.Errorf("%w: %s is not the regular file that was opened", storage.ErrNotLinkable, path)
	}
	f, err := openFile(p, os.O_RDONLY, 0)
	if err != nil {
		_ = d.removeUpload(p)
		return nil, fmt.Errorf("storage: link upload %s: %w", id, err)
	}
	// The writer's file is read-only: Commit syncs and renames it, which a
	// read-only descriptor allows, and a Write fails.
	return &writer{d: d, id: id, path: p, f: f, size: fi.Size(), written: fi.Size(), dropped: fi.Size()}, nil
}
