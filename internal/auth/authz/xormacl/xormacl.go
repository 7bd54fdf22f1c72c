package xormacl

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"wharf/internal/auth/authz"
	"wharf/internal/auth/authz/remoteacl"
	"wharf/internal/auth/xormdb"
)

// Table is docker_auth's table of ACL rules.
const Table = "xorm_acl_entry"

// maxEntryJSON bounds one stored rule.
const maxEntryJSON = 64 << 10

// New loads the table's rules and returns the ACL, reloaded every ttl until
// Close. log may be nil.
func New(ctx context.Context, db *xormdb.DB, ttl time.Duration, log *slog.Logger) (*remoteacl.ACL, error) {
	return remoteacl.New(ctx, func(ctx context.Context) ([]authz.Rule, error) { return Load(ctx, db) },
		remoteacl.Options{Name: "acl_xorm", TTL: ttl, Timeout: db.Timeout, Log: log})
}

// Load reads every row and returns the rules in seq order.
func Load(ctx context.Context, db *xormdb.DB) ([]authz.Rule, error) {
	rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT acl_entry, seq FROM %s ORDER BY seq LIMIT %d", Table, remoteacl.MaxEntries+1))
	if err != nil {
		return nil, fmt.Errorf("reading table %s (acl_entry, seq), which docker_auth's acl_xorm creates: %w", Table, err)
	}
	defer rows.Close()
	var entries []remoteacl.Entry
	for n := 1; rows.Next(); n++ {
		var (
			raw sql.NullString
			seq sql.NullInt64
		)
		if err := rows.Scan(&raw, &seq); err != nil {
			return nil, fmt.Errorf("reading table %s: %w", Table, err)
		}
		e := remoteacl.Entry{Source: fmt.Sprintf("row %d", n)}
		if seq.Valid {
			e.Seq = &seq.Int64
		}
		if e.Fields, err = fields(raw); err != nil {
			return nil, fmt.Errorf("rule %s: acl_entry: %w", e.Source, err)
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading table %s: %w", Table, err)
	}
	rules, err := remoteacl.Rules(entries)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", Table, err)
	}
	return rules, nil
}

// fields decodes one acl_entry.
func fields(raw sql.NullString) (map[string]any, error) {
	if !raw.Valid || raw.String == "" || raw.String == "null" {
		return nil, fmt.Errorf("empty; want a JSON rule such as {\"match\": {\"account\": \"admin\"}, \"actions\": [\"*\"]}")
	}
	if len(raw.String) > maxEntryJSON {
		return nil, fmt.Errorf("more than %d bytes", maxEntryJSON)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw.String), &m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	return remoteacl.FoldKeys(m)
}
