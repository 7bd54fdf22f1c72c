package xorm

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
)

// UserTable is docker_auth's table of users.
const UserTable = "xorm_user"

// maxLabelsJSON bounds the labels of one user.
const maxLabelsJSON = 64 << 10

// Authenticator checks passwords against the xorm_user table (xorm_auth).
type Authenticator struct {
	*authn.Lookup
	db    *DB
	query string
}

var _ authn.Authenticator = (*Authenticator)(nil)

// NewAuthenticator checks that the table exists with docker_auth's columns, samples a
// stored hash for the cost of the dummy comparison and returns the
// authenticator. log may be nil.
func NewAuthenticator(ctx context.Context, db *DB, log *slog.Logger) (*Authenticator, error) {
	a := &Authenticator{db: db,
		// Rows whose name the collation calls equal are all read (newest
		// first) and compared exactly here; 16 bounds what one name costs.
		query: "SELECT id, username, password_hash, labels FROM " + UserTable + " WHERE username = " + db.placeholder(1) + " ORDER BY id DESC LIMIT 16",
	}
	a.Lookup = authn.NewLookup("xorm_auth", a.find, authn.LookupOptions{NoAnonymous: true, Log: log})
	qctx, cancel := context.WithTimeout(ctx, db.Timeout)
	defer cancel()
	var sample sql.NullString
	err := db.QueryRowContext(qctx, "SELECT password_hash FROM "+UserTable+" ORDER BY id DESC LIMIT 1").Scan(&sample)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("xorm_auth: reading table %s (id, username, password_hash, labels), which docker_auth's xorm_auth creates: %w", UserTable, err)
	default:
		a.NoteHash(sample.String)
	}
	return a, nil
}

func (a *Authenticator) find(ctx context.Context, user string) (authn.Record, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, a.db.Timeout)
	defer cancel()
	rows, err := a.db.QueryContext(ctx, a.query, user)
	if err != nil {
		return authn.Record{}, false, fmt.Errorf("xorm_auth: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id           int64
			name, hash   string
			labelsColumn sql.NullString
		)
		if err := rows.Scan(&id, &name, &hash, &labelsColumn); err != nil {
			return authn.Record{}, false, fmt.Errorf("xorm_auth: %w", err)
		}
		if name != user {
			continue // equal only under the column's collation
		}
		labels, err := parseLabels(labelsColumn)
		if err != nil {
			return authn.Record{}, false, fmt.Errorf("xorm_auth: user %q (id %d): labels: %w", user, id, err)
		}
		return authn.Record{Hash: hash, Labels: labels}, true, nil
	}
	if err := rows.Err(); err != nil {
		return authn.Record{}, false, fmt.Errorf("xorm_auth: %w", err)
	}
	return authn.Record{}, false, nil
}

// parseLabels reads the JSON labels column: an object of name to a list of
// strings; SQL NULL, "" and JSON null are no labels.
func parseLabels(col sql.NullString) (auth.Labels, error) {
	if !col.Valid || col.String == "" || col.String == "null" {
		return nil, nil
	}
	if len(col.String) > maxLabelsJSON {
		return nil, fmt.Errorf("more than %d bytes", maxLabelsJSON)
	}
	var labels auth.Labels
	if err := json.Unmarshal([]byte(col.String), &labels); err != nil {
		return nil, errors.New(`not a JSON object of label name to a list of strings, such as {"group": ["dev"]}`)
	}
	return labels, nil
}
