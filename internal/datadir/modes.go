package datadir

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// CheckModes warns when the data directory is open to group or others
// (it holds the metadata database, keys and blobs), and when a file of
// auth/, tls/ or acme/ other than a certificate is: wharf creates the
// directory 0700 and those files 0600, but a directory made beforehand
// keeps its mode, and a file may have been copied in or restored from a
// backup. It only reports: the operator decides who may read their files.
func (d Dir) CheckModes(log *slog.Logger) {
	dir := d.root
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn(fmt.Sprintf("the data directory %s is open to group or others (mode %04o); it holds the metadata database, keys and blobs: run chmod 700 %s",
			dir, fi.Mode().Perm(), dir), "dir", dir)
	}
	var loose []string
	for _, sub := range secretDirs {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue // not made yet, or reported when used
		}
		for _, e := range entries {
			fi, err := e.Info()
			if err != nil || !fi.Mode().IsRegular() || strings.HasSuffix(e.Name(), ".crt") || fi.Mode().Perm()&0o077 == 0 {
				continue // certificates are public
			}
			loose = append(loose, filepath.Join(dir, sub, e.Name()))
		}
	}
	if len(loose) > 0 {
		log.Warn("files holding keys or password hashes are open to group or others: run chmod 600 "+strings.Join(loose, " "),
			"files", loose)
	}
}
