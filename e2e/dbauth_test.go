package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"wharf/e2e/harness"
	"wharf/internal/auth/token"
	"wharf/internal/testserver"
)

// Users of the database-backend tests: frank may push (by label), gina
// only pull; passwords with the characters that trip parsers.
const (
	frankPassword = "frank:pässword 1"
	ginaPassword  = "gina-pw:2"
)

// seedMongo stores users and ACL rules in docker_auth's document shapes.
func seedMongo(t *testing.T, f *testserver.FerretDB) {
	t.Helper()
	f.Insert(t, "users",
		bson.M{"username": "frank", "password": bcryptHash(t, frankPassword), "labels": bson.M{"team": bson.A{"platform"}}},
		bson.M{"username": "gina", "password": bcryptHash(t, ginaPassword)},
	)
	f.Insert(t, "acl",
		bson.M{"seq": 20, "match": bson.M{"account": "/.+/"}, "actions": bson.A{"pull"}, "comment": "logged in: pull"},
		bson.M{"seq": 10, "match": bson.M{"account": "/.+/", "labels": bson.M{"team": "platform"}}, "actions": bson.A{"*"}, "comment": "platform: all"},
	)
}

// tokenActions asks a token endpoint for push and pull on repo and returns
// the status and the actions granted.
func tokenActions(t *testing.T, base, user, password, repo string) (int, []string) {
	t.Helper()
	u := base + "/auth?service=" + url.QueryEscape("Docker registry") + "&scope=" + url.QueryEscape("repository:"+repo+":push,pull")
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, grantedActions(t, body.Token, repo)
}

// checkFrankAndGina checks the grants the seeded rules give.
func checkFrankAndGina(t *testing.T, base string) {
	t.Helper()
	if status, actions := tokenActions(t, base, "frank", frankPassword, "team/app"); status != http.StatusOK || !slices.Equal(actions, []string{"pull", "push"}) {
		t.Errorf("frank (team platform): %d %v; want a token for pull and push", status, actions)
	}
	if status, actions := tokenActions(t, base, "gina", ginaPassword, "team/app"); status != http.StatusOK || !slices.Equal(actions, []string{"pull"}) {
		t.Errorf("gina: %d %v; want a token for pull only", status, actions)
	}
	for _, c := range [][2]string{{"frank", "wrong"}, {"frank", ""}, {"Frank", frankPassword}, {"nobody", "x"}} {
		if status, _ := tokenActions(t, base, c[0], c[1], "team/app"); status != http.StatusUnauthorized {
			t.Errorf("user %q with a bad password or name: status %d; want 401", c[0], status)
		}
	}
}

// dockerAuthHeader is the start of a docker_auth configuration: plain
// HTTP, a token certificate of its own.
func dockerAuthHeader(t *testing.T) string {
	t.Helper()
	_, _, keyPath, certPath := signingPair(t, token.KeyECDSAP256, "auth-server")
	return fmt.Sprintf(`server:
  addr: ":5001"
token:
  issuer: "Auth Service"
  expiration: 900
  certificate: %q
  key: %q
`, certPath, keyPath)
}

// TestWharfAuthMongo runs `wharf auth` with a docker_auth configuration
// holding only mongo_auth and acl_mongo (no users map, no acl) against a
// real MongoDB-wire server, and asks its token endpoint for tokens.
func TestWharfAuthMongo(t *testing.T) {
	harness.SkipIfShort(t)
	f := testserver.StartFerretDB(t)
	seedMongo(t, f)
	cfg := dockerAuthHeader(t) + fmt.Sprintf(`mongo_auth:
  dial_info:
    addrs: [%q]
    timeout: "10s"
    database: %q
    source: %q
    username: %q
    password_file: %q
  collection: "users"
acl_mongo:
  dial_info:
    addrs: [%q]
    timeout: "10s"
    database: %q
    source: %q
    username: %q
    password_file: %q
  collection: "acl"
  cache_ttl: "1m"
`, f.Addr, f.Database, f.Database, f.Username, f.PasswordFile, f.Addr, f.Database, f.Database, f.Username, f.PasswordFile)
	path := filepath.Join(t.TempDir(), "auth_config.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := harness.StartWharfCommand(t, nil, "auth", "--config", path, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	t.Cleanup(httpClient.CloseIdleConnections)
	checkFrankAndGina(t, auth.URL())
	if log := auth.Log(); strings.Contains(log, frankPassword) || strings.Contains(log, f.Password()) {
		t.Errorf("a password reached wharf's log")
	}
}

// TestDockerMongo logs the real docker client in to `wharf serve` as users
// stored in MongoDB, with rights from acl_mongo: frank pushes, gina only
// pulls.
func TestDockerMongo(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	f := testserver.StartFerretDB(t)
	seedMongo(t, f)
	dial := fmt.Sprintf("{addrs: [%q], database: %q, source: %q, username: %q, password_file: %q}", f.Addr, f.Database, f.Database, f.Username, f.PasswordFile)
	body := fmt.Sprintf("auth: token\nmongo_auth:\n  dial_info: %s\n  collection: users\nacl_mongo:\n  dial_info: %s\n  collection: acl\n", dial, dial)
	cfg := writeConfig(t, t.TempDir(), body)
	dockerWithBackend(t, cfg, rootfs, backendUsers{backend: "MongoDB", pusher: "frank", pusherPassword: frankPassword,
		puller: "gina", pullerPassword: ginaPassword, pullerDenied: "allowed to pull only", extraSecrets: []string{f.Password()}})
}

// TestWharfAuthXorm runs `wharf auth` with xorm_auth and acl_xorm on an
// SQLite file in docker_auth's layout (rows as its xorm library writes
// them) and asks for tokens.
func TestWharfAuthXorm(t *testing.T) {
	harness.SkipIfShort(t)
	dbPath := filepath.Join(t.TempDir(), "docker_auth.db")
	db := testserver.OpenSQLite(t, dbPath)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	for _, stmt := range testserver.XormSchema("sqlite3") {
		exec(stmt)
	}
	exec("INSERT INTO xorm_user (username, password_hash, labels) VALUES (?, ?, ?)", "frank", bcryptHash(t, frankPassword), `{"team":["platform"]}`)
	exec("INSERT INTO xorm_user (username, password_hash, labels) VALUES (?, ?, ?)", "gina", bcryptHash(t, ginaPassword), sql.NullString{})
	exec("INSERT INTO xorm_acl_entry (acl_entry, seq) VALUES (?, ?)", `{"Match":{"account":"/.+/"},"Actions":["pull"],"Comment":null}`, 20)
	exec("INSERT INTO xorm_acl_entry (acl_entry, seq) VALUES (?, ?)", `{"Match":{"account":"/.+/","labels":{"team":"platform"}},"Actions":["*"],"Comment":"platform"}`, 10)
	cfg := dockerAuthHeader(t) + fmt.Sprintf(`xorm_auth:
  database_type: sqlite3
  conn_string: %q
acl_xorm:
  database_type: sqlite3
  conn_string: %q
  cache_ttl: 1m
`, dbPath, "file:"+dbPath+"?cache=shared")
	path := filepath.Join(t.TempDir(), "auth_config.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := harness.StartWharfCommand(t, nil, "auth", "--config", path, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	t.Cleanup(httpClient.CloseIdleConnections)
	checkFrankAndGina(t, auth.URL())

	// The users table gone: a login not in the login cache is an error
	// (503), neither a grant nor a plain 401.
	exec("DROP TABLE xorm_user")
	if status, actions := tokenActions(t, auth.URL(), "henry", "henry-pw", "team/app"); status != http.StatusServiceUnavailable {
		t.Errorf("users table dropped: %d %v; want 503", status, actions)
	}
}

// TestDockerXormDatabaseRules: users from docker_auth's SQL table
// (xorm_auth on SQLite) log the real docker client in to `wharf serve`,
// with their rights from ACL rules added to wharf's own database with the
// wharf CLI while it serves — one for a label the table gives frank, one
// for gina's account.
func TestDockerXormDatabaseRules(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	dbPath := filepath.Join(t.TempDir(), "docker_auth.db")
	db := testserver.OpenSQLite(t, dbPath)
	for _, stmt := range testserver.XormSchema("sqlite3") {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []struct{ name, password, labels string }{
		{"frank", frankPassword, `{"team":["platform"]}`}, {"gina", ginaPassword, `{}`},
	} {
		if _, err := db.Exec("INSERT INTO xorm_user (username, password_hash, labels) VALUES (?, ?, ?)", u.name, bcryptHash(t, u.password), u.labels); err != nil {
			t.Fatal(err)
		}
	}
	body := fmt.Sprintf("auth: token\nxorm_auth:\n  database_type: sqlite3\n  conn_string: %q\n", dbPath)
	cfg := writeConfig(t, t.TempDir(), body)
	dockerWithBackend(t, cfg, rootfs, backendUsers{backend: "xorm", pusher: "frank", pusherPassword: frankPassword,
		puller: "gina", pullerPassword: ginaPassword, pullerDenied: "allowed to pull only by the database's rules",
		started: func(w *harness.Wharf) {
			cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: w.DataDir()}
			cli.run("", "acl", "add", "--label", "team=platform", "--name", "team/*", "--actions", "pull,push", "--comment", "the platform team")
			cli.run("", "acl", "add", "--account", "gina", "--name", "team/*", "--actions", "pull", "--comment", "gina reads")
		}})
}
