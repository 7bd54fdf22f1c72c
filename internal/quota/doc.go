// Package quota enforces byte limits on groups of repositories: each rule
// names a pattern and a limit, and a manifest push that would take the
// deduplicated usage of the repositories the pattern matches over the limit
// is refused with an *ExceededError naming the rule and the usage.
//
// Usage is the metadata store's Usage (distinct blobs referred to by the
// group's manifests, plus the manifests), read once per rule and kept:
// a page of that query costs tens of milliseconds on a registry of 10,000
// manifests, while what one push adds (metadata.AddedBytes) costs well
// under a millisecond. A push this process admits adds to the kept usage
// at once (a reservation, given back when the write fails), so the pushes
// of one process never overshoot a limit. A refusal is never made on a kept
// figure: the usage is read again first, so space freed by another process
// (`wharf repo rm`, a replica) is seen at once. What other processes push
// is seen when the figure is read again, after RefreshAfter at the latest:
// replicas sharing a database may together overshoot a limit by what they
// admitted in that window.
//
// It imports metadata only: never net/http, config or the registry.
package quota
