package xorm

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"wharf/internal/auth/authz"
)

// ACLTable is docker_auth's table of ACL rules.
const ACLTable = "xorm_acl_entry"

// maxEntryJSON bounds one stored rule.
const maxEntryJSON = 64 << 10

// NewACL loads the table's rules (acl_xorm) and returns the ACL, reloaded
// every ttl until Close. log may be nil.
func NewACL(ctx context.Context, db *DB, ttl time.Duration, log *slog.Logger) (*authz.Stored, error) {
	return authz.NewStored(ctx, func(ctx context.Context) ([]authz.Rule, error) { return loadRules(ctx, db) },
		authz.StoredOptions{Name: "acl_xorm", TTL: ttl, Timeout: db.Timeout, Log: log})
}

// loadRules reads every row and returns the rules in seq order.
func loadRules(ctx context.Context, db *DB) ([]authz.Rule, error) {
	rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT acl_entry, seq FROM %s ORDER BY seq LIMIT %d", ACLTable, authz.MaxEntries+1))
	if err != nil {
		return nil, fmt.Errorf("reading table %s (acl_entry, seq), which docker_auth's acl_xorm creates: %w", ACLTable, err)
	}
	defer rows.Close()
	var entries []authz.Entry
	for n := 1; rows.Next(); n++ {
		var (
			raw sql.NullString
			seq sql.NullInt64
		)
		if err := rows.Scan(&raw, &seq); err != nil {
			return nil, fmt.Errorf("reading table %s: %w", ACLTable, err)
		}
		e := authz.Entry{Source: fmt.Sprintf("row %d", n)}
		if seq.Valid {
			e.Seq = &seq.Int64
		}
		if e.Fields, err = fields(raw); err != nil {
			return nil, fmt.Errorf("rule %s: acl_entry: %w", e.Source, err)
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading table %s: %w", ACLTable, err)
	}
	rules, err := authz.ParseEntries(entries)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", ACLTable, err)
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
	return foldKeys(m)
}

// foldKeys returns fields with the keys of the rule and of its match in
// lower case, as docker_auth's JSON decoding matches them (acl_xorm stores
// {"Match": …, "Actions": …, "Comment": …}); label names keep their case.
// Two keys that fold to the same name are an error.
func foldKeys(fields map[string]any) (map[string]any, error) {
	out, err := fold(fields)
	if err != nil {
		return nil, err
	}
	if m, ok := out["match"].(map[string]any); ok {
		if out["match"], err = fold(m); err != nil {
			return nil, fmt.Errorf("match: %w", err)
		}
	}
	return out, nil
}

func fold(m map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		lk := strings.ToLower(k)
		if _, dup := out[lk]; dup {
			return nil, fmt.Errorf("keys %q differ only in case", lk)
		}
		out[lk] = v
	}
	return out, nil
}
