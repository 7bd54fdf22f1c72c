//go:build !unix

package filesystem

import (
	"io/fs"
	"os"
)

// openFile is os.OpenFile where there is no cheaper way; see open_unix.go.
func openFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag, perm)
}
