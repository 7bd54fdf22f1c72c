// Package lease gives each periodic job of `wharf serve` (retention, the
// audit log's expiry, the purges of stale uploads and ended sessions) one
// owner among the replicas that share a metadata database: before a run,
// a replica takes its turn from the job's lease in the database, which it
// keeps while it lives and another takes over once it has expired.
//
// It imports only metadata and the standard library; the jobs know it only
// as a func(ctx) (bool, error) they are handed.
package lease
