// Package audit owns the audit log: who pushed, pulled, deleted, logged in,
// was denied a login or a scope, or changed a user, team, rule, token or
// session — when, from which address, in which request.
//
// Records are queued in memory on the request's goroutine and written to
// the metadata database in batches by one writer goroutine, so that the
// pull path never waits for a database write. The queue is bounded: when
// it is full the oldest routine record (a pull or a successful login) is
// dropped and counted, never a change, a push, a delete or a denial while
// routine records can go instead. Close flushes what is queued. Records
// older than the retention are deleted in bounded batches.
//
// The writer folds repeated pulls — same actor, address, repository and
// target within a window (audit.fold) — into one row with a count: the
// first pull is written at once, its repeats when the window ends. Nothing
// else is ever folded. Addresses, targets and details are formatted by the
// writer too, so that a request only copies its event into the queue.
//
// A record never holds a secret: the hooks are handed names, addresses
// and decisions, never a password, a token or a hash.
//
// It imports events, metadata, edge and gate; the token server and the
// account service know it only through their own small interfaces.
package audit
