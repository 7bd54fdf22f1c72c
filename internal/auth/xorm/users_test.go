package xorm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/authntest"
	"wharf/internal/auth/xorm"
)

// newUserDatabase is newDatabase with the connection string docker_auth's
// xorm_auth examples give for SQLite.
func newUserDatabase(t *testing.T, typ string) database {
	t.Helper()
	d := newDatabase(t, typ)
	if typ == xorm.SQLite3 {
		// docker_auth's own SQLite connection strings look like this.
		d.conn = "file:" + d.conn + "?cache=shared&_busy_timeout=5000"
	}
	return d
}

func (d database) addUser(t *testing.T, name, hash string, labels any) {
	t.Helper()
	var l any
	if labels != nil {
		b, err := json.Marshal(labels)
		if err != nil {
			t.Fatal(err)
		}
		l = string(b)
	}
	q := "INSERT INTO xorm_user (username, password_hash, labels) VALUES (?, ?, ?)"
	if d.typ == xorm.Postgres {
		q = "INSERT INTO xorm_user (username, password_hash, labels) VALUES ($1, $2, $3)"
	}
	if _, err := d.w.Exec(q, name, hash, l); err != nil {
		t.Fatal(err)
	}
}

func (d database) authenticator(t *testing.T) *xorm.Authenticator {
	t.Helper()
	a, err := xorm.NewAuthenticator(t.Context(), d.open(t, 10*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newXorm(typ string) authntest.NewFunc {
	return func(t *testing.T, fx authntest.Fixture) authn.Authenticator {
		d := newUserDatabase(t, typ)
		for _, u := range fx.Users {
			var labels any
			if u.Labels != nil {
				labels = u.Labels
			}
			d.addUser(t, u.Name, u.Hash, labels)
		}
		return d.authenticator(t)
	}
}

func TestUsersConformance(t *testing.T) {
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			authntest.Run(t, authntest.Contract{UnknownUser: authn.NoMatch, Labels: true, Confirms: true}, newXorm(typ))
		})
	}
}

// Lookup, which mongo_auth shares, passes a full password gate on. Not
// parallel: it fills the process's password gate.
func TestFullPasswordGate(t *testing.T) {
	authntest.RunFullGate(t, newXorm(xorm.SQLite3))
}

func TestUserRows(t *testing.T) {
	h := func(pw string) string {
		b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			d := newUserDatabase(t, typ)
			d.addUser(t, "twice", h("old"), nil)
			d.addUser(t, "twice", h("new"), map[string][]string{"v": {"2"}})
			d.addUser(t, "plain", "secret", nil)
			d.addUser(t, "nolabels", h("pw"), json.RawMessage("null"))
			d.addUser(t, "badlabels", h("pw"), map[string]string{"group": "ops"})
			d.addUser(t, "nohash", "", nil)
			a := d.authenticator(t)
			ctx := context.Background()
			for _, tc := range []struct {
				user, password string
				want           authn.Result
				wantErr        string
			}{
				{"twice", "new", authn.Accepted, ""}, // the highest id wins, as in docker_auth
				{"twice", "old", authn.WrongPassword, ""},
				{"plain", "secret", authn.WrongPassword, "plain-text"},
				{"nolabels", "pw", authn.Accepted, ""},
				{"badlabels", "pw", authn.WrongPassword, "labels"},
				{"nohash", "", authn.WrongPassword, ""},
				{"TWICE", "new", authn.NoMatch, ""}, // MySQL's collation would say equal
				{"twice ", "new", authn.NoMatch, ""},
				{"", "", authn.NoMatch, ""},
			} {
				res, _, err := a.Authenticate(ctx, tc.user, auth.Secret(tc.password))
				if res != tc.want || (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
					t.Errorf("%q: %v, %v; want %v, error containing %q", tc.user, res, err, tc.want, tc.wantErr)
				}
				if err != nil && strings.Contains(err.Error(), "secret") {
					t.Errorf("%q: the error quotes the stored value: %v", tc.user, err)
				}
			}
		})
	}
}

// TestOpenErrors: a missing table or file, a wrong password, an in-memory
// database: start-up fails with an error that quotes no password.
func TestOpenErrors(t *testing.T) {
	pg := servers.Postgres(t)
	empty := pg.NewDatabase(t)
	wrong := strings.Replace(empty, pg.Password(), "s3cret-wrong-password", 1)
	missing := filepath.Join(t.TempDir(), "missing.db")
	for _, tc := range []struct {
		name, typ, conn, want string
	}{
		{"no table", xorm.Postgres, empty, "xorm_user"},
		{"wrong password", xorm.Postgres, wrong, "password authentication failed"},
		{"unparsable", xorm.Postgres, "postgres://u:" + pg.Password() + "@127.0.0.1:x/db", "cannot be parsed"},
		{"no sslmode and no TLS", xorm.Postgres, strings.Replace(empty, "?sslmode=disable", "", 1), "TLS"},
		{"missing file", xorm.SQLite3, missing, "no such file"},
		{"memory", xorm.SQLite3, ":memory:", "in-memory"},
		{"mysql without database", xorm.MySQL, "u:" + pg.Password() + "@tcp(127.0.0.1:1)/", "names no database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := xorm.Open(t.Context(), tc.typ, tc.conn, 5*time.Second)
			if err == nil {
				defer db.Close()
				_, err = xorm.NewAuthenticator(t.Context(), db, nil)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want one containing %q", err, tc.want)
			}
			for _, s := range []string{pg.Password(), "s3cret-wrong-password"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the error quotes a password: %v", err)
				}
			}
		})
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("opening a missing SQLite file created it")
	}
}

func ExampleNewAuthenticator() {
	fmt.Println(xorm.UserTable)
	// Output: xorm_user
}

// A session of a xorm_user ends when the row's password hash changes or
// the row goes (docker_auth's tables are edited by hand or by scripts).
func TestSessionsEndWithTheRow(t *testing.T) {
	d := newUserDatabase(t, xorm.SQLite3)
	d.addUser(t, "alice", bcryptOf(t, "alice-pw"), nil)
	d.addUser(t, "bob", bcryptOf(t, "bob-pw"), nil)
	a := d.authenticator(t)
	ctx := t.Context()
	stamp := func(user, pw string) string {
		t.Helper()
		res, labels, err := a.Authenticate(ctx, user, auth.Secret(pw))
		if err != nil || res != authn.Accepted {
			t.Fatalf("login %s: %v, %v", user, res, err)
		}
		return authn.TakeStamp(labels)
	}
	alice, bob := stamp("alice", "alice-pw"), stamp("bob", "bob-pw")
	for _, q := range []string{
		"UPDATE xorm_user SET password_hash = '" + bcryptOf(t, "alice-pw-2") + "' WHERE username = 'alice'",
		"DELETE FROM xorm_user WHERE username = 'bob'",
	} {
		if _, err := d.w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for user, stamp := range map[string]string{"alice": alice, "bob": bob} {
		if res, _, err := a.Confirm(ctx, user, stamp); err != nil || res != authn.WrongPassword {
			t.Errorf("Confirm(%s) after the row changed: %v, %v; want wrong password", user, res, err)
		}
	}
	if res, _, err := a.Confirm(ctx, "alice", stamp("alice", "alice-pw-2")); err != nil || res != authn.Accepted {
		t.Errorf("Confirm(alice) of the new password's session: %v, %v", res, err)
	}
}

func bcryptOf(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}
