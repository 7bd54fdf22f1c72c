// Package retention decides which tags and untagged manifests a registry
// no longer needs, and removes them: policies per repository pattern (keep
// the newest N tags, keep tags pushed or pulled within a duration, always
// keep some tags, delete untagged manifests after a while), evaluated
// over the metadata store's view of a repository, with a report saying
// what goes and which rule kept the rest.
//
// It also turns immutable_tags rules into the store's tag guard, so that
// the same glob matching decides immutability and retention.
//
// Retention only untags and deletes manifests, through the store's
// conditional deletes (a tag moved or a manifest referenced again since
// the evaluation is left alone); garbage collection frees the bytes. It
// must not import net/http, config, server or cli: the composition root
// and the command translate wharf.yml's retention: and immutable_tags:.
package retention
