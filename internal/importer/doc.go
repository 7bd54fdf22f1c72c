// Package importer moves the images of a registry:2 (distribution)
// installation into wharf: it reads distribution's filesystem storage tree
// (docker/registry/v2: blobs, and per repository the _layers, _manifests
// revisions and tags links), verifies every blob and manifest against its
// digest while reading it, and writes through wharf's own storage driver
// and registry layer, so that metadata, tags and the referrers index come
// out as a push would make them.
//
// It owns the reading of that layout (Source, Plan), the copy or hard link
// of blobs, resumption (what wharf already holds is skipped), the progress
// display and the summary. The source tree is only read: it is opened as an
// os.Root, so a symbolic link that leaves it is refused, and nothing is
// ever created or changed in it.
//
// It must not import net/http, config, the server or the commands: the
// command (cli/import.go) resolves the settings, opens the data directory
// and hands in the registry and the blob driver.
package importer
