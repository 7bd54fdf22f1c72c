//go:build unix

package datadir

import (
	"fmt"
	"io/fs"
	"syscall"
)

// ownerOf names the owner of a file as uid and gid.
func ownerOf(fi fs.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("uid %d, gid %d", st.Uid, st.Gid)
	}
	return "an unknown user"
}
