package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrDistributionTree means a data directory is the storage root of a
// registry:2 (distribution) installation rather than a wharf data directory.
var ErrDistributionTree = errors.New("datadir: a registry:2 storage tree, not a wharf data directory")

// DistributionV2 is where distribution's filesystem driver keeps its
// repositories and blobs below its storage root (rootdirectory).
const DistributionV2 = "docker/registry/v2"

// checkNotDistribution refuses a root that holds distribution's layout:
// wharf does not read it, so serving there would start an empty registry
// next to the images users expect, and write wharf's files into the other
// registry's tree. It is checked before anything is created.
func (d Dir) checkNotDistribution() error {
	fi, err := os.Stat(filepath.Join(d.root, DistributionV2))
	if err != nil || !fi.IsDir() {
		return nil
	}
	return fmt.Errorf("%w: %s holds %s, the layout of registry:2's storage; wharf keeps its own layout and would start empty there: "+
		"copy the images into a new data directory with `wharf import %s --data NEWDIR`, then run wharf with --data NEWDIR (docs/migrate.md)",
		ErrDistributionTree, d.root, DistributionV2, d.root)
}
