package wharfbench

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// readHashed reads every byte whatever the size against its 1 MiB chunks,
// and reports a read error instead of hanging on it.
func TestReadHashed(t *testing.T) {
	for _, size := range []int{0, 1, mib - 1, mib, 3*mib + 5, 7 * mib} {
		n, err := readHashed(iotest.HalfReader(bytes.NewReader(make([]byte, size))))
		if err != nil || n != int64(size) {
			t.Errorf("size %d: read %d, %v", size, n, err)
		}
	}
	broken := io.MultiReader(bytes.NewReader(make([]byte, 5*mib)), iotest.ErrReader(errors.New("connection reset")))
	if _, err := readHashed(broken); err == nil || err.Error() != "connection reset" {
		t.Errorf("a body that breaks after 5 MiB: error %v, want connection reset", err)
	}
}
