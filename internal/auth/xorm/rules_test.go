package xorm_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/authz/authztest"
	"wharf/internal/auth/xorm"
	"wharf/internal/testserver"
)

// set replaces the table's rows: seq → acl_entry JSON (a nil seq is SQL NULL).
func (d database) set(t *testing.T, rows ...row) {
	t.Helper()
	if _, err := d.w.Exec("DELETE FROM xorm_acl_entry"); err != nil {
		t.Fatal(err)
	}
	q := "INSERT INTO xorm_acl_entry (acl_entry, seq) VALUES (?, ?)"
	if d.typ == xorm.Postgres {
		q = "INSERT INTO xorm_acl_entry (acl_entry, seq) VALUES ($1, $2)"
	}
	for _, r := range rows {
		if _, err := d.w.Exec(q, r.entry, r.seq); err != nil {
			t.Fatal(err)
		}
	}
}

type row struct {
	seq   any
	entry string
}

func req(account, name string, actions ...string) auth.Request {
	return auth.Request{Identity: auth.Identity{Account: account}, Access: auth.Access{Type: "repository", Name: name, Actions: actions}}
}

// reference rows as docker_auth's xorm writes them (ACLEntry without JSON
// tags: Match, Actions, Comment), one in lower case as a person would.
var reference = []row{
	{30, `{"Match":{"account":"/.+/"},"Actions":["pull"],"Comment":null}`},
	{10, `{"Match":{"account":"admin"},"Actions":["*"],"Comment":"Admin has full access to everything."}`},
	{20, `{"match":{"account":"test"},"actions":[],"comment":"test may do nothing"}`},
	{40, `{"Match":{"account":"","name":"hello-world"},"Actions":["pull"]}`},
}

func TestRules(t *testing.T) {
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			d := newDatabase(t, typ)
			d.set(t, reference...)
			a, err := xorm.NewACL(t.Context(), d.open(t, 5*time.Second), time.Hour, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			ctx := context.Background()
			for _, tc := range []struct {
				name string
				req  auth.Request
				want []string
				err  error
			}{
				{"admin", req("admin", "x", "pull", "push"), []string{"pull", "push"}, nil},
				{"test: the deny rule comes first", req("test", "x", "pull"), []string{}, nil},
				{"logged in", req("bob", "x", "pull", "push"), []string{"pull"}, nil},
				{"anonymous hello-world", req("", "hello-world", "pull"), []string{"pull"}, nil},
				{"anonymous elsewhere", req("", "x", "pull"), nil, authz.ErrNoMatch},
			} {
				got, err := a.Authorize(ctx, tc.req)
				if !errors.Is(err, tc.err) || !slices.Equal(got, tc.want) || (tc.want != nil && got == nil) {
					t.Errorf("%s: %v, %v; want %v, %v", tc.name, got, err, tc.want, tc.err)
				}
			}

			// A change applies at the next reload.
			d.set(t, row{5, `{"Match":{"account":"bob"},"Actions":["*"]}`})
			if err := a.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			if got, err := a.Authorize(ctx, req("bob", "x", "push")); err != nil || !slices.Equal(got, []string{"push"}) {
				t.Errorf("bob after the change: %v, %v", got, err)
			}

			// Bad rows make the reload fail; the rules in force stay.
			for _, bad := range []struct {
				rows []row
				want string
			}{
				{[]row{{nil, `{"Match":{},"Actions":[]}`}}, "no seq"},
				{[]row{{1, `{"Match":{},"Actions":[]}`}, {1, `{"Match":{},"Actions":["*"]}`}}, "seq 1"},
				{[]row{{1, `{"Match":{"acount":"x"},"Actions":["*"]}`}}, "acount"},
				{[]row{{1, `not json`}}, "not a JSON object"},
				{[]row{{1, `{"Match":{"Account":"x","account":"y"},"Actions":["*"]}`}}, "differ only in case"},
			} {
				d.set(t, bad.rows...)
				if err := a.Reload(ctx); err == nil || !strings.Contains(err.Error(), bad.want) {
					t.Errorf("rows %v: reload error %v; want one containing %q", bad.rows, err, bad.want)
				}
			}
			if got, err := a.Authorize(ctx, req("bob", "x", "push")); err != nil || !slices.Equal(got, []string{"push"}) {
				t.Errorf("bob after failed reloads: %v, %v; want the rules loaded before", got, err)
			}
		})
	}
}

func TestRulesMissingTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	w := testserver.OpenSQLite(t, path)
	if _, err := w.Exec("CREATE TABLE other (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	db, err := xorm.Open(t.Context(), xorm.SQLite3, path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := xorm.NewACL(t.Context(), db, time.Hour, nil); err == nil || !strings.Contains(err.Error(), "xorm_acl_entry") {
		t.Fatalf("New without the table: %v; want an error naming it", err)
	}
	// wharf never creates the table (the file is opened query-only).
	var n int
	if err := w.QueryRow("SELECT count(*) FROM sqlite_master WHERE name = 'xorm_acl_entry'").Scan(&n); err != nil || n != 0 {
		t.Errorf("xorm_acl_entry created: %d, %v", n, err)
	}
}

// docker_auth's xorm_acl_entry rows keep the authorizers' contract, on
// every database.
func TestRulesConformance(t *testing.T) {
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			authztest.Run(t, authztest.Contract{Unmatched: authz.ErrNoMatch}, func(t *testing.T) authz.Authorizer {
				d := newDatabase(t, typ)
				var rows []row
				for i, e := range authztest.Entries(t) {
					b, err := json.Marshal(e)
					if err != nil {
						t.Fatal(err)
					}
					rows = append(rows, row{(i + 1) * 10, string(b)})
				}
				d.set(t, rows...)
				a, err := xorm.NewACL(t.Context(), d.open(t, 5*time.Second), time.Hour, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { a.Close() })
				return a
			})
		})
	}
}
