package filesystem

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing [off, off+n) of f to disk
// now, without waiting (sync_file_range SYNC_FILE_RANGE_WRITE). It is
// advice: errors are ignored, and durability still comes from the fsync
// at Close and Commit — which then finds little left to write.
func startWriteback(f *os.File, off, n int64) {
	withFD(f, n, func(fd int) {
		_ = unix.SyncFileRange(fd, off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}

// dropBehind waits until [off, off+n) of f is on disk (sync_file_range
// with SYNC_FILE_RANGE_WAIT_BEFORE|WRITE|WAIT_AFTER, which also starts the
// writeback of any part not started yet) and drops those pages from the
// page cache (posix_fadvise POSIX_FADV_DONTNEED). Like startWriteback it is
// advice: durability still comes from the fsync at Close and Commit, and a
// failure leaves the pages cached, nothing worse.
func dropBehind(f *os.File, off, n int64) {
	withFD(f, n, func(fd int) {
		const wait = unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WRITE | unix.SYNC_FILE_RANGE_WAIT_AFTER
		if unix.SyncFileRange(fd, off, n, wait) == nil {
			_ = unix.Fadvise(fd, off, n, unix.FADV_DONTNEED)
		}
	})
}

// dropCached drops [off, off+n) of f from the page cache
// (POSIX_FADV_DONTNEED), for a range already on disk: pages still dirty
// stay. Advice only, like dropBehind.
func dropCached(f *os.File, off, n int64) {
	withFD(f, n, func(fd int) {
		_ = unix.Fadvise(fd, off, n, unix.FADV_DONTNEED)
	})
}

// withFD runs advice on f's descriptor, unless the range is empty or the
// descriptor is gone.
func withFD(f *os.File, n int64, advice func(fd int)) {
	if n <= 0 {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { advice(int(fd)) })
}
