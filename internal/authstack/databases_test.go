package authstack

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/config"
	"wharf/internal/testserver"
)

// databaseSections are docker_auth's database backends.
var databaseSections = []string{"mongo_auth", "acl_mongo", "xorm_auth", "acl_xorm"}

func TestDatabaseBackendsAbsent(t *testing.T) {
	t.Parallel()
	b, closers, err := buildSome(t.Context(), config.Default(), slog.New(slog.DiscardHandler), databaseSections...)
	if err != nil || len(b.authn) != 0 || len(b.authz) != 0 || len(closers) != 0 {
		t.Fatalf("%v, %v, %v; want nothing", b, closers, err)
	}
}

// The four sections as a user writes them reach working backends, in
// docker_auth's order: MongoDB, then xorm.
func TestDatabaseBackends(t *testing.T) {
	f := testserver.StartFerretDB(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("mongo-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	f.Insert(t, "users", bson.M{"username": "carol", "password": string(hash), "labels": bson.M{"team": bson.A{"a"}}})
	f.Insert(t, "acl", bson.M{"seq": 1, "match": bson.M{"account": "carol"}, "actions": bson.A{"pull"}})
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "mongo.pw")
	if err := os.WriteFile(pwFile, []byte(f.Password()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "auth.db")
	w := testserver.OpenSQLite(t, dbPath)
	for _, stmt := range testserver.XormSchema("sqlite3") {
		if _, err := w.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Exec(`INSERT INTO xorm_acl_entry (acl_entry, seq) VALUES ('{"Match":{},"Actions":[]}', 1)`); err != nil {
		t.Fatal(err)
	}
	dial := config.MongoDial{Addrs: []string{f.Addr}, Database: f.Database, Source: f.Database, Username: f.Username, PasswordFile: pwFile, Timeout: config.Duration(5 * time.Second)}
	cfg := config.Default()
	cfg.MongoAuth = &config.MongoAuth{DialInfo: dial, Collection: "users"}
	cfg.ACLMongo = &config.ACLMongo{DialInfo: dial, Collection: "acl", CacheTTL: config.Duration(time.Minute)}
	cfg.XormAuth = &config.XormAuth{DatabaseType: "sqlite3", ConnString: dbPath}
	cfg.ACLXorm = &config.ACLXorm{DatabaseType: "sqlite3", ConnString: "file:" + dbPath + "?cache=shared"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	b, closers, err := buildSome(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), databaseSections...)
	if err != nil {
		t.Fatal(err)
	}
	defer closers.Close()
	var names []string
	for _, a := range b.authn {
		names = append(names, a.Name())
	}
	for _, a := range b.authz {
		names = append(names, a.Name())
	}
	if got := strings.Join(names, ","); got != "mongo_auth,xorm_auth,acl_mongo,acl_xorm" {
		t.Errorf("backends %s; want mongo_auth,xorm_auth,acl_mongo,acl_xorm", got)
	}
	chain := authn.NewChain(nil, b.authn...)
	res, labels, err := chain.Authenticate(context.Background(), "carol", "mongo-pw")
	if err != nil || res != authn.Accepted || labels["team"][0] != "a" {
		t.Errorf("carol: %v %v %v", res, labels, err)
	}
	allowed, err := b.authz[0].Authorize(context.Background(), auth.Request{Identity: auth.Identity{Account: "carol"},
		Access: auth.Access{Type: "repository", Name: "x", Actions: []string{"pull", "push"}}})
	if err != nil || len(allowed) != 1 || allowed[0] != "pull" {
		t.Errorf("carol's access: %v, %v", allowed, err)
	}

	for name, tc := range map[string]struct {
		mutate func(*config.Config)
		want   string
	}{
		"missing password file": {func(c *config.Config) { c.MongoAuth.DialInfo.PasswordFile = filepath.Join(dir, "nope") }, "mongo_auth.dial_info.password_file"},
		"wrong password": {func(c *config.Config) {
			c.ACLMongo.DialInfo.PasswordFile, c.ACLMongo.DialInfo.Password = "", "s3cret-wrong-password"
		}, "acl_mongo"},
		"missing CA":          {func(c *config.Config) { c.MongoAuth.DialInfo.CACertificate = filepath.Join(dir, "nope") }, "ca_certificate"},
		"missing SQLite file": {func(c *config.Config) { c.XormAuth.ConnString = filepath.Join(dir, "nope.db") }, "xorm_auth"},
		"missing conn file": {func(c *config.Config) {
			c.ACLXorm.ConnString, c.ACLXorm.ConnStringFile = "", filepath.Join(dir, "nope")
		}, "acl_xorm.conn_string_file"},
	} {
		c := cfg
		ma, am, xa, ax := *cfg.MongoAuth, *cfg.ACLMongo, *cfg.XormAuth, *cfg.ACLXorm
		c.MongoAuth, c.ACLMongo, c.XormAuth, c.ACLXorm = &ma, &am, &xa, &ax
		tc.mutate(&c)
		_, _, err := buildSome(t.Context(), c, slog.New(slog.DiscardHandler), databaseSections...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error mentioning %q", name, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "s3cret-wrong-password") || strings.Contains(err.Error(), f.Password())) {
			t.Errorf("%s: the error shows a password: %v", name, err)
		}
	}
}
