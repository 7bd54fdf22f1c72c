//go:build !linux

package filesystem

import "os"

// startWriteback is a no-op where sync_file_range does not exist: the fsync
// at Close and Commit writes everything.
func startWriteback(*os.File, int64, int64) {}

// dropBehind is a no-op where sync_file_range does not exist: the pages
// stay cached until the kernel needs them.
func dropBehind(*os.File, int64, int64) {}

// dropCached is a no-op where posix_fadvise is not used.
func dropCached(*os.File, int64, int64) {}
