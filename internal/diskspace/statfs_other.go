//go:build !unix

package diskspace

import "errors"

func statfs(string) (free, total uint64, err error) {
	return 0, 0, errors.New("not known on this system")
}
