package dockerauth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/config"
)

// mongoAuth is docker_auth's reference mongo_auth and acl_mongo, with no
// users map and no acl.
const mongoAuth = `server:
  addr: ":5001"
  certificate: /ssl/auth.crt
  key: /ssl/auth.key
token:
  issuer: "Acme auth server"
  expiration: 900
mongo_auth:
  dial_info:
    addrs: ["localhost"]
    timeout: "10s"
    database: "docker_auth"
    username: "auth"
    password_file: "/run/secrets/mongo"
    enable_tls: true
  collection: "users"
acl_mongo:
  dial_info:
    addrs: ["mongo-1:27017", "mongo-2:27017"]
    timeout: "5s"
    database: "docker_auth"
    source: "admin"
    failfast: true
  collection: "acl"
  cache_ttl: "1m"
`

func TestLoadMongo(t *testing.T) {
	t.Parallel()
	got, err := Load(writeConfig(t, mongoAuth), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	wantAuth := &config.MongoAuth{Collection: "users", DialInfo: config.MongoDial{Addrs: []string{"localhost"},
		Timeout: config.Duration(10 * time.Second), Database: "docker_auth", Username: "auth", PasswordFile: "/run/secrets/mongo", EnableTLS: true}}
	if diff := cmp.Diff(wantAuth, got.MongoAuth); diff != "" {
		t.Errorf("mongo_auth (-want +got):\n%s", diff)
	}
	wantACL := &config.ACLMongo{Collection: "acl", CacheTTL: config.Duration(time.Minute), DialInfo: config.MongoDial{
		Addrs: []string{"mongo-1:27017", "mongo-2:27017"}, Timeout: config.Duration(5 * time.Second), Database: "docker_auth", Source: "admin"}}
	if diff := cmp.Diff(wantACL, got.ACLMongo); diff != "" {
		t.Errorf("acl_mongo (-want +got):\n%s", diff)
	}
}

const xormAuth = `server:
  addr: ":5001"
token:
  issuer: "Acme auth server"
  expiration: 900
  certificate: /ssl/token.crt
  key: /ssl/token.key
xorm_auth:
  database_type: sqlite3
  conn_string: /data/auth.db
acl_xorm:
  database_type: postgres
  conn_string: "postgres://auth:pw@db/docker_auth?sslmode=verify-full"
  cache_ttl: 30s
`

func TestLoadXorm(t *testing.T) {
	t.Parallel()
	got, err := Load(writeConfig(t, xormAuth), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&config.XormAuth{DatabaseType: "sqlite3", ConnString: "/data/auth.db"}, got.XormAuth); diff != "" {
		t.Errorf("xorm_auth (-want +got):\n%s", diff)
	}
	if got.ACLXorm == nil || got.ACLXorm.CacheTTLOrDefault() != 30*time.Second || got.ACLXorm.DatabaseType != "postgres" {
		t.Errorf("acl_xorm: %+v", got.ACLXorm)
	}
}

func TestLoadDatabaseBackendErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, from, to, want string
		is                   error
	}{
		{"misspelt dial_info key", "    database: \"docker_auth\"\n    username", "    databse: \"docker_auth\"\n    username", "mongo_auth.dial_info.databse", ErrUnknownKey},
		{"bare number timeout", `timeout: "10s"`, "timeout: 10", "nanoseconds", nil},
		{"bad duration", `cache_ttl: "1m"`, `cache_ttl: "soon"`, "acl_mongo.cache_ttl", nil},
		{"gssapi", "failfast: true", "service: mongodb", "service", ErrNotSupported},
		{"unknown section key", `collection: "acl"`, `collection: "acl"` + "\n  cache_duration: 1m", "acl_mongo.cache_duration", ErrUnknownKey},
		{"no dial_info", "mongo_auth:\n  dial_info:", "mongo_auth:\n  dial_infos:", "mongo_auth.dial_info", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(mongoAuth, tc.from) {
				t.Fatalf("fixture lacks %q", tc.from)
			}
			_, err := Load(writeConfig(t, strings.Replace(mongoAuth, tc.from, tc.to, 1)), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "line ") {
				t.Fatalf("error %v; want one naming %q with its line", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
	// Without mongo_auth, users is required again; without acl_mongo, acl.
	noUsers := strings.Replace(mongoAuth, "mongo_auth:", "mongo_authx:", 1)
	if _, err := Load(writeConfig(t, noUsers), nil); err == nil || !strings.Contains(err.Error(), "mongo_authx") {
		t.Errorf("unknown section: %v", err)
	}
	onlyUsers := mongoAuth[:strings.Index(mongoAuth, "acl_mongo:")]
	if _, err := Load(writeConfig(t, onlyUsers), nil); err == nil || !strings.Contains(err.Error(), "acl: required unless acl_mongo") {
		t.Errorf("no acl and no acl_mongo: %v; want acl required", err)
	}
}
