package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"wharf/e2e/harness"
	"wharf/internal/datadir"
	"wharf/internal/testserver"
)

// TestMigrateDBToPostgres moves a registry that served on SQLite to a
// real PostgreSQL server with wharf migrate-db.
func TestMigrateDBToPostgres(t *testing.T) {
	harness.SkipIfShort(t)
	t.Parallel()
	pg := testserver.StartPostgres(t)
	testMigrateDB(t, "postgres", pg.DSN, pg.DSN, pg.Password())
}

// TestMigrateDBToMariaDB does the same with a real MariaDB server.
func TestMigrateDBToMariaDB(t *testing.T) {
	harness.SkipIfShort(t)
	t.Parallel()
	m := testserver.StartMariaDB(t)
	testMigrateDB(t, "mysql", "mysql:"+m.DSN, m.DSN, m.Password())
}

// testMigrateDB fills a token-auth registry on SQLite with users, a team,
// rules, an access token, images and audit rows; refuses to copy it while
// it serves; copies it into the database server once stopped; and starts
// wharf on the copy: the same images pull, the same logins and the same
// token work, the same rules deny, the audit log is there, and a second
// copy into the now used database is refused.
func testMigrateDB(t *testing.T, driver, spec, dsn, password string) {
	ctx := testContext(t, 5*time.Minute)
	w := harness.StartWharf(t, "--auth", "token")
	t.Cleanup(httpClient.CloseIdleConnections)
	data := datadir.New(w.DataDir())
	cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: w.DataDir()}
	const alicePW = "alice's long password"
	cli.run(alicePW+"\n", "user", "add", "alice", "--password-stdin")
	cli.run("", "team", "add", "dev")
	cli.run("", "team", "member", "add", "dev", "alice")
	cli.run("", "acl", "add", "--label", "groups=dev", "--name", "dev/*", "--actions", "pull,push", "--comment", "the dev team")
	cli.run("", "user", "add", "ci", "--robot")
	cli.run("", "team", "member", "add", "dev", "ci")
	token := strings.TrimSpace(cli.run("", "token", "create", "--user", "ci", "--repo", "dev/*", "--actions", "pull", "--expires", "1d"))

	alice := remote.WithAuth(&authn.Basic{Username: "alice", Password: alicePW})
	images := map[string]v1.Image{}
	for _, r := range []string{"dev/app:1", "dev/app:2", "dev/tools:latest"} {
		img, err := random.Image(4096, 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref(t, w, r), img, remoteOpts(ctx, alice)...); err != nil {
			t.Fatalf("push %s: %v\n%s", r, err, w.Log())
		}
		images[r] = img
	}
	// The server writes its audit records within a second or so.
	deadline := time.Now().Add(30 * time.Second)
	for !hasActions(auditRecords(t, cli, "audit", "ls", "--json", "--limit", "1000"), []string{"push"}) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	before := auditRecords(t, cli, "audit", "ls", "--json", "--limit", "1000")

	migrate := []string{"migrate-db", "--from", "sqlite:" + data.Database(), "--to", spec, "--json"}
	if code, out := runWharf(t, migrate...); code != 1 || !strings.Contains(out, "stop it first") {
		t.Errorf("migrate-db beside a running server: exit %d\n%s", code, out)
	}
	w.Stop()
	code, out := runWharf(t, migrate...)
	if code != 0 {
		t.Fatalf("migrate-db: exit %d\n%s", code, out)
	}
	if strings.Contains(out, password) {
		t.Errorf("migrate-db printed the database password:\n%s", out)
	}
	var rep struct {
		Rows   int64 `json:"rows"`
		Tables []struct {
			Table string `json:"table"`
			Rows  int64  `json:"rows"`
		} `json:"tables"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &rep); err != nil || rep.Rows == 0 {
		t.Fatalf("migrate-db report: %v\n%s", err, out)
	}

	// The same data directory (blobs, token keys), the new database.
	w2 := harness.StartWharfCommand(t, []string{"WHARF_DATABASE_DRIVER=" + driver, "WHARF_DATABASE_DSN=" + dsn},
		"serve", "--addr", "127.0.0.1:0", "--data", data.Root(), "--auth", "token", "--tls", "off")
	if !strings.Contains(w2.Log(), "metadata database open") || !strings.Contains(w2.Log(), driver+" ") {
		t.Fatalf("the new server does not use %s:\n%s", driver, w2.Log())
	}
	for r, img := range images {
		got, err := remote.Image(ref(t, w2, r), remoteOpts(ctx, alice)...)
		if err != nil {
			t.Fatalf("pull %s as alice from %s: %v\n%s", r, driver, err, w2.Log())
		}
		if d, _ := got.Digest(); d != mustDigest(t, img) {
			t.Errorf("pull %s: digest %s, want %s", r, d, mustDigest(t, img))
		}
	}
	ci := remote.WithAuth(&authn.Basic{Username: "ci", Password: token})
	if _, err := remote.Image(ref(t, w2, "dev/app:1"), remoteOpts(ctx, ci)...); err != nil {
		t.Errorf("pull with ci's access token: %v", err)
	}
	img, _ := random.Image(1024, 1)
	if err := remote.Write(ref(t, w2, "ops/app:1"), img, remoteOpts(ctx, alice)...); err == nil {
		t.Error("alice pushed outside her team's repositories after the move")
	}
	if err := remote.Write(ref(t, w2, "dev/app:3"), img, remoteOpts(ctx, alice)...); err != nil {
		t.Errorf("push as alice after the move: %v", err)
	}
	if _, err := remote.Image(ref(t, w2, "dev/app:1"), remoteOpts(ctx, remote.WithAuth(&authn.Basic{Username: "alice", Password: "wrong"}))...); err == nil {
		t.Error("a wrong password pulled after the move")
	}
	dbCLI := wharfCLI{t: t, bin: cli.bin, data: data.Root()}
	after := auditRecords(t, dbCLI, "audit", "ls", "--json", "--limit", "1000", "--database-driver", driver, "--database-dsn", dsn)
	if len(after) < len(before) || !hasActions(after, []string{"push", "user.create", "token.create"}) {
		t.Errorf("the audit log at %s has %d records (%s), the source had %d", driver, len(after), dump(after), len(before))
	}

	// The destination is in use now: copying again is refused.
	w2.Stop()
	if code, out := runWharf(t, migrate...); code != 1 || !strings.Contains(out, "not empty") {
		t.Errorf("second migrate-db: exit %d\n%s", code, out)
	}
}
