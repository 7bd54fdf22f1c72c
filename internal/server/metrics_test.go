package server

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestBackendOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("registry: add blob: %w", errors.New("metadata: begin: database is locked")), "database"},
		{fmt.Errorf("registry: open blob: %w", errors.New("storage: commit: no space left on device")), "storage"},
		{fmt.Errorf("registry: stat blob: %w", &fs.PathError{Op: "stat", Path: "/x", Err: fs.ErrPermission}), "storage"},
		{errors.New("a bug"), "other"},
	} {
		if got := backendOf(tc.err); got != tc.want {
			t.Errorf("backendOf(%v) = %q; want %q", tc.err, got, tc.want)
		}
	}
}
