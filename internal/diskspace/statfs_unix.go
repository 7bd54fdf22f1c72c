//go:build unix

package diskspace

import "syscall"

func statfs(path string) (free, total uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	bsize := uint64(st.Bsize) //nolint:gosec,unconvert // the block size is positive; its type differs by OS
	return uint64(st.Bavail) * bsize, uint64(st.Blocks) * bsize, nil
}
