package filesystem

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"wharf/internal/diskspace"
	"wharf/internal/storage"
	"wharf/internal/testserver"
)

func TestReserveOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		total, want uint64
	}{
		{1 << 20, 128 << 10},       // an eighth of a tiny disk
		{16 << 20, 2 << 20},        // an eighth, under the minimum
		{64 << 20, 4 << 20},        // the minimum
		{10 << 30, 10 << 30 / 100}, // 1 %
		{100 << 30, reserveMax},    // the maximum
		{0, 0},                     // a filesystem that reports no size
	} {
		if got := reserveOf(tc.total); got != tc.want {
			t.Errorf("reserveOf(%d) = %d, want %d", tc.total, got, tc.want)
		}
	}
}

// TestUploadsKeepTheReserve fills a 64 MiB tmpfs with one upload: it is
// refused as storage.ErrFull naming the disk and the reserve while the
// reserve is still free, not once the disk is full to the last byte.
func TestUploadsKeepTheReserve(t *testing.T) {
	disk := testserver.SmallDisk(t, "64m")
	d, err := New(filepath.Join(disk, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := d.Upload(t.Context(), "fills-the-disk-0001", -1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	chunk := bytes.Repeat([]byte("x"), 256<<10)
	for err == nil {
		_, err = w.Write(chunk)
	}
	if !errors.Is(err, storage.ErrFull) || !strings.Contains(err.Error(), "kept free for the database: the last 4.0 MiB of 64.0 MiB") ||
		!strings.Contains(err.Error(), "tmpfs filesystem mounted at "+disk) {
		t.Fatalf("filling the disk: %v; want storage.ErrFull naming the disk and its reserve", err)
	}
	free, _, ferr := diskspace.Free(disk)
	if ferr != nil {
		t.Fatal(ferr)
	}
	t.Logf("refused with %d bytes written and %d free: %v", w.Size(), free, err)
	// Checked every MiB: the reserve shrinks by less than that and a chunk.
	if free < 4<<20-reserveCheckEvery-uint64(len(chunk)) {
		t.Errorf("%d bytes free after the upload was refused; want the 4 MiB reserve kept", free)
	}
}
