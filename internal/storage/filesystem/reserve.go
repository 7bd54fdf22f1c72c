package filesystem

import (
	"errors"
	"fmt"

	"wharf/internal/diskspace"
	"wharf/internal/progress"
)

// Uploads keep the last part of the filesystem free (the reserve), so that
// a disk filled by pushes still has room for the database, usually on the
// same filesystem: a delete is a write too, and an operator who deletes
// images to free space needs it recorded before wharf gc can remove their
// blobs. With SQLite, a disk full to the last byte refuses even those
// deletes.
const (
	reserveMin      = 4 << 20   // at least this much,
	reserveMax      = 256 << 20 // at most this much,
	reservePercent  = 1         // else this share of the filesystem,
	reserveMaxShare = 8         // but never more than 1/8 of it (small disks)
	// reserveCheckEvery is how many bytes an upload writes between two
	// looks at the free space: the reserve may shrink by up to this much
	// per upload in flight before they are refused.
	reserveCheckEvery = 1 << 20
)

// errReserve refuses a write that would eat into the reserve.
var errReserve = errors.New("the filesystem's reserve is kept free for the database")

// reserveOf is the reserve of a filesystem of total bytes.
func reserveOf(total uint64) uint64 {
	r := min(max(total*reservePercent/100, reserveMin), reserveMax)
	return min(r, total/reserveMaxShare)
}

// checkReserve refuses a write of n bytes when it would leave less than
// the reserve free, looking at most once per reserveCheckEvery bytes of
// the upload (and at its first write in each request). A filesystem whose
// space cannot be read is not refused: ENOSPC still is.
func (w *writer) checkReserve(n int) error {
	if w.reserveChecked && w.size-w.reserveAt < reserveCheckEvery {
		return nil
	}
	w.reserveChecked, w.reserveAt = true, w.size
	free, total, err := diskspace.Free(w.d.root)
	if err != nil {
		return nil
	}
	if reserve := reserveOf(total); free < reserve+uint64(n) { //nolint:gosec // n is a slice length
		return fmt.Errorf("%w: the last %s of %s, so that deletes can still be recorded", errReserve,
			progress.Bytes(int64(reserve)), progress.Bytes(int64(total))) //nolint:gosec // sizes of one filesystem
	}
	return nil
}
