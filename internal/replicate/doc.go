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
// It imports neither config, metadata, storage nor server: the commands
// and the composition root hand it references and credentials.
package replicate
