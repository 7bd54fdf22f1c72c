package filesystem

import (
	"context"
	"fmt"
	"os"
)

// Probe writes a small file where uploads are staged and removes it: the
// readiness check of a store that must take pushes. It fails when the
// directory is gone, unwritable or full.
func (d *Driver) Probe(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.CreateTemp(d.uploads, ".probe-*")
	if err != nil {
		return fmt.Errorf("storage: probe: %w", err)
	}
	_, werr := f.Write([]byte("wharf\n"))
	cerr := f.Close()
	rerr := os.Remove(f.Name())
	for _, err := range []error{werr, cerr, rerr} {
		if err != nil {
			return fmt.Errorf("storage: probe: %w", err)
		}
	}
	return nil
}
