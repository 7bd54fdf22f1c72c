// Package proxy is the pull-through cache: repositories under a configured
// prefix (or, for a mirror, every name) are filled from another registry
// on their first pull and served by Wharf afterwards.
//
// A manifest by digest is immutable: fetched once, then served from the
// cache. A manifest by tag is served from the cache for the upstream's TTL
// after it was last checked; after that a HEAD (which Docker Hub does not
// count against its pull limit) asks what the tag points at, and only a
// changed digest is fetched again. A blob is streamed to the client while
// it is written to storage, and becomes visible in the registry only once
// its bytes hash to its digest; concurrent pulls of one blob share one
// upstream download, each reading the bytes as they arrive. When the
// upstream is down, slow or rate-limiting, what the cache holds is served
// with a Warning header (stale-if-error); what it does not hold is an OCI
// error naming the upstream and its answer.
//
// Content is stored through registry (metadata and the blob store), so
// tag lists, referrers, garbage collection and sizes see it; the
// repository's name under a proxy prefix is what marks it as cached. It
// imports registry, upstream, errcode and the standard library, never
// net/http's server side, config, metadata or storage: the composition
// root builds the upstreams' clients and hands them in.
package proxy
