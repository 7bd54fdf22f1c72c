// Package replicate copies images between registries: one image or index
// with every platform it lists, and what refers to them (signatures and
// SBOMs found through the referrers API, its sha256-<hex> tag fallback, and
// cosign's sha256-<hex>.sig/.att/.sbom tags). wharf copy runs it once;
// replication rules (docs/replication.md) decide what to copy where.
//
// The protocol work is go-containerregistry's remote package, the client
// crane, ko and cosign share: it asks the destination for each blob with a
// HEAD before sending it (so a copy that was killed and run again sends
// only what is missing), mounts blobs across repositories of one registry,
// verifies every blob it reads against its digest, and keeps the
// referrers fallback tag of a destination without the referrers API. This
// package adds what Wharf needs around it: both ends' credentials kept
// apart, counts of what was sent and skipped (read off the wire, not
// estimated), a check that the destination answers the source's digest,
// and progress.
//
// Runner runs replication rules: a push event matching an on-push rule is
// queued in the metadata's notification queue (endpoint replication/RULE,
// so that a restart, kill -9 included, loses nothing, and the queue's
// lease makes one replica copy it), and a scheduled or requested run
// copies every matching tag whose digest differs on the destination. This
// registry is reached through its own OCI API, in process (InProcess).
//
// It imports neither config, storage, registry nor server: the commands
// and the composition root hand it references, credentials and the API.
package replicate
