//go:build unix

package filesystem

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// openFile is os.OpenFile without the network poller. os.OpenFile offers
// every new descriptor to the Go runtime's poller, which on Linux refuses
// regular files and directories only after four system calls (two fcntl
// to make the descriptor non-blocking, a failing epoll_ctl, two fcntl to
// undo it). os.NewFile asks one fcntl of a blocking descriptor and leaves
// the poller alone. A small blob's push opens its upload twice and syncs a
// directory: nine system calls fewer, of about thirty the storage makes.
// Reads and writes of a file block their thread either way.
func openFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	for {
		fd, err := syscall.Open(name, flag|syscall.O_CLOEXEC, uint32(perm.Perm()))
		if err == nil {
			return os.NewFile(uintptr(fd), name), nil
		}
		if !errors.Is(err, syscall.EINTR) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
}
