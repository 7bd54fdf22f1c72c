// Package gc is Wharf's online garbage collector: it marks from the
// metadata (what manifests refer to, which tags and indexes keep a manifest)
// and sweeps, while the registry keeps serving, the blobs, untagged
// manifests (on request), stray blob files and abandoned uploads that have
// been unreferenced for longer than a grace period.
//
// It owns the order of a run, the database lease that lets one collection
// at a time run against a database shared by several replicas, and the
// Result of a run that the command, the server's schedule, the admin API
// and metrics read. The race with concurrent pushes is closed by the
// metadata store's locking (metadata.DeleteGarbageBlob and checkRef): see
// docs/architecture.md, "Garbage collection and concurrent pushes".
//
// It must not import net/http, config, the server or the commands: they
// hand in the store, the blob driver and the Options.
package gc
