// Package metadata owns the SQL store of everything that is not blob bytes:
// repositories, manifests (with their payloads), tags, blob links per
// repository, manifest references and uploads in progress; and identity:
// refresh tokens, users, teams, ACL rules and access tokens, with the
// identity generation every identity change bumps in its transaction.
//
// Listing tags or the catalog reads an index here and never walks storage.
// Every change that makes content visible (a manifest and its tags) happens in
// one committed transaction. SQLite (modernc.org/sqlite, pure Go) is the
// embedded default; PostgreSQL (pgx) and MySQL/MariaDB (go-sql-driver) serve
// several replicas. What differs between them is a dialect (dialect.go,
// postgres.go, mysql.go); queries and the embedded SQL migrations are written
// once. metadatatest holds the conformance suite every backend runs.
// CopyAll copies every table of one store into another (wharf migrate-db).
//
// It imports the standard library, go-digest and the SQL drivers only; never
// net/http, storage or registry.
package metadata
