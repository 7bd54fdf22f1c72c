package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadDatabaseBackends(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "wharf.yml")
	doc := `mongo_auth:
  dial_info:
    addrs: [mongo.internal, "10.0.0.2:27018"]
    database: docker_auth
    username: wharf
    password_file: /run/secrets/mongo
    ca_certificate: /etc/wharf/mongo-ca.pem
  collection: users
acl_mongo:
  dial_info: {addrs: [mongo.internal], database: docker_auth}
  collection: acl
xorm_auth:
  database_type: mysql
  conn_string_file: /run/secrets/mysql
acl_xorm:
  database_type: sqlite3
  conn_string: /var/lib/docker_auth/auth.db
  cache_ttl: 30s
`
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if d := c.MongoAuth.DialInfo; d.TimeoutOrDefault() != DefaultMongoTimeout || d.SourceOrDefault() != "admin" || len(d.Addrs) != 2 {
		t.Errorf("mongo_auth: %+v", d)
	}
	if c.ACLMongo.CacheTTLOrDefault() != DefaultACLCacheTTL || c.ACLXorm.CacheTTLOrDefault() != 30*time.Second {
		t.Errorf("cache_ttl: %v %v", c.ACLMongo.CacheTTLOrDefault(), c.ACLXorm.CacheTTLOrDefault())
	}
}

func TestValidateDatabaseBackends(t *testing.T) {
	t.Parallel()
	c := Default()
	c.MongoAuth = &MongoAuth{DialInfo: MongoDial{Addrs: []string{"mongodb://h:1", "h:99999"}, Password: "pw-in-config", PasswordFile: "/f", Mechanism: "PLAIN"}}
	c.ACLMongo = &ACLMongo{DialInfo: MongoDial{Addrs: []string{"h"}, Database: "d", Password: "pw-in-config"}, Collection: "acl", CacheTTL: Duration(time.Millisecond)}
	c.XormAuth = &XormAuth{DatabaseType: "mssql", ConnString: "x"}
	c.ACLXorm = &ACLXorm{DatabaseType: "sqlite"}
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"mongo_auth.dial_info.addrs[0]", "mongo_auth.dial_info.addrs[1]", "mongo_auth.dial_info.database: required",
		"mongo_auth.dial_info.password: and password_file", "mongo_auth.dial_info.username: required", "mongo_auth.dial_info.mechanism",
		"mongo_auth.collection: required", "acl_mongo.dial_info.username", "acl_mongo.cache_ttl",
		`xorm_auth.database_type: "mssql" is not supported`, "acl_xorm.database_type: \"sqlite\": docker_auth's name is sqlite3",
		"acl_xorm.conn_string: required",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "pw-in-config") {
		t.Errorf("an error shows the password: %v", err)
	}
	r := Default()
	r.Role, r.Auth = RoleRegistry, "token"
	r.Token.RootCertBundle = "/x"
	r.ACLXorm = &ACLXorm{DatabaseType: "sqlite3", ConnString: "/x.db"}
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "need auth: token (wharf serve or wharf auth)") {
		t.Errorf("wharf registry with acl_xorm: %v", err)
	}
	d := MongoDial{Addrs: []string{"h"}, Database: "db", Username: "u", Password: "pw-in-config"}
	if strings.Contains(d.String(), "pw-in-config") || strings.Contains(d.LogValue().String(), "pw-in-config") {
		t.Errorf("the dial info prints its password: %s %s", d, d.LogValue())
	}
}
