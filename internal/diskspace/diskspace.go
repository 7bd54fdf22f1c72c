package diskspace

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"wharf/internal/progress"
)

// Space is the room on the filesystem holding a path.
type Space struct {
	Path       string // the path asked about, made absolute
	MountPoint string // where its filesystem is mounted; "" when unknown
	FSType     string // the filesystem's type (ext4, xfs, tmpfs); "" when unknown
	Free       uint64 // bytes an unprivileged writer may still use
	Total      uint64
}

// String names the filesystem and its free space, e.g. "/srv/wharf (on the
// xfs filesystem mounted at /srv): 1.2 GiB free of 100.0 GiB".
func (s Space) String() string {
	on := ""
	switch {
	case s.MountPoint != "" && s.FSType != "":
		on = fmt.Sprintf(" (on the %s filesystem mounted at %s)", s.FSType, s.MountPoint)
	case s.MountPoint != "":
		on = fmt.Sprintf(" (on the filesystem mounted at %s)", s.MountPoint)
	}
	return fmt.Sprintf("%s%s: %s free of %s", s.Path, on, progress.Bytes(int64(s.Free)), progress.Bytes(int64(s.Total)))
}

// Of returns the space of the filesystem holding path.
func Of(path string) (Space, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Space{}, fmt.Errorf("diskspace: %w", err)
	}
	free, total, err := statfs(abs)
	if err != nil {
		return Space{Path: abs}, fmt.Errorf("diskspace: %s: %w", abs, err)
	}
	s := Space{Path: abs, Free: free, Total: total}
	s.MountPoint, s.FSType = mountOf(abs)
	return s, nil
}

// Describe is Of as one line, or the reason it is not known.
func Describe(path string) string {
	s, err := Of(path)
	if err != nil {
		return fmt.Sprintf("%s: free space unknown (%v)", path, err)
	}
	return s.String()
}

// mountOf finds the longest mount point above abs in /proc/self/mountinfo
// (Linux); elsewhere it knows none.
func mountOf(abs string) (mountPoint, fsType string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		mp := unescape(fields[4])
		if under(abs, mp) && len(mp) >= len(mountPoint) {
			mountPoint, fsType = mp, fields[sep+1]
		}
	}
	return mountPoint, fsType
}

func under(path, dir string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}

// unescape undoes mountinfo's octal escapes of space, tab, newline and
// backslash.
func unescape(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// Free returns the bytes available to an unprivileged writer on the
// filesystem holding path and its size: one statfs, cheap enough for a
// check before each MiB written.
func Free(path string) (free, total uint64, err error) {
	free, total, err = statfs(path)
	if err != nil {
		return 0, 0, fmt.Errorf("diskspace: %s: %w", path, err)
	}
	return free, total, nil
}
