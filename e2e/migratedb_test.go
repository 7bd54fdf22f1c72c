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
	testMigrateDB(t, dbEnd{}, dbEnd{"postgres", pg.DSN, pg.DSN, pg.Password()})
}

// TestMigrateDBToMariaDB does the same with a real MariaDB server.
func TestMigrateDBToMariaDB(t *testing.T) {
	harness.SkipIfShort(t)
	t.Parallel()
	m := testserver.StartMariaDB(t)
	testMigrateDB(t, dbEnd{}, dbEnd{"mysql", "mysql:" + m.DSN, m.DSN, m.Password()})
}

// TestMigrateDBFromPostgres moves a registry that served on PostgreSQL to
// MariaDB, and another to the data directory's SQLite file: the way back
// from a database server, or to another one.
func TestMigrateDBFromPostgres(t *testing.T) {
	harness.SkipIfShort(t)
	t.Parallel()
	pg := testserver.StartPostgres(t)
	t.Run("to MariaDB", func(t *testing.T) {
		t.Parallel()
		m := testserver.StartMariaDB(t)
		dsn := pg.NewDatabase(t)
		testMigrateDB(t, dbEnd{"postgres", dsn, dsn, pg.Password()}, dbEnd{"mysql", "mysql:" + m.DSN, m.DSN, m.Password()})
	})
	t.Run("to SQLite", func(t *testing.T) {
		t.Parallel()
		dsn := pg.NewDatabase(t)
		testMigrateDB(t, dbEnd{"postgres", dsn, dsn, pg.Password()}, dbEnd{})
	})
}

// dbEnd is one side of a wharf migrate-db: the driver and DSN a server
// and the commands are given, the spec migrate-db names it by, and its
// password, which no output may show. The zero dbEnd is the data
// directory's SQLite file.
type dbEnd struct{ driver, spec, dsn, password string }

// flags are the options that point a command at the database: none for
// the data directory's SQLite.
func (e dbEnd) flags() []string {
	if e.driver == "" {
		return nil
	}
	return []string{"--database-driver", e.driver, "--database-dsn", e.dsn}
}

// env is flags for a server's environment.
func (e dbEnd) env() []string {
	if e.driver == "" {
		return nil
	}
	return []string{"WHARF_DATABASE_DRIVER=" + e.driver, "WHARF_DATABASE_DSN=" + e.dsn}
}

// name is the driver as the server's log names it.
func (e dbEnd) name() string {
	if e.driver == "" {
		return "sqlite"
	}
	return e.driver
}

// testMigrateDB fills a token-auth registry on database from (SQLite when
// zero) with users, a team, rules, an access token, images and audit rows;
// refuses to copy an SQLite source while it serves; copies it into to
// once stopped (to's spec empty: the data directory's SQLite file); and
// starts wharf on the copy: the same images pull, the same logins and the
// same token work, the same rules deny, the audit log is there, and a
// second copy into the now used database is refused.
func testMigrateDB(t *testing.T, from, to dbEnd) {
	ctx := testContext(t, 5*time.Minute)
	var w *harness.Wharf
	if from.driver == "" {
		w = harness.StartWharf(t, "--auth", "token")
	} else {
		w = harness.StartWharfCommand(t, from.env(), "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--auth", "token", "--tls", "off")
	}
	t.Cleanup(httpClient.CloseIdleConnections)
	if !strings.Contains(w.Log(), `database="`+from.name()+" ") {
		t.Fatalf("the source server does not use %s:\n%s", from.name(), w.Log())
	}
	data := datadir.New(w.DataDir())
	if from.driver == "" {
		from.spec = "sqlite:" + data.Database()
	}
	if to.driver == "" {
		to.spec = "sqlite:" + data.Database()
	}
	cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: w.DataDir()}
	run := func(stdin string, args ...string) string {
		t.Helper()
		return cli.run(stdin, append(args, from.flags()...)...)
	}
	const alicePW = "alice's long password"
	run(alicePW+"\n", "user", "add", "alice", "--password-stdin")
	run("", "team", "add", "dev")
	run("", "team", "member", "add", "dev", "alice")
	run("", "acl", "add", "--label", "groups=dev", "--name", "dev/*", "--actions", "pull,push", "--comment", "the dev team")
	run("", "user", "add", "ci", "--robot")
	run("", "team", "member", "add", "dev", "ci")
	token := strings.TrimSpace(run("", "token", "create", "--user", "ci", "--repo", "dev/*", "--actions", "pull", "--expires", "1d"))

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
	audit := append([]string{"audit", "ls", "--json", "--limit", "1000"}, from.flags()...)
	for !hasActions(auditRecords(t, cli, audit...), []string{"push"}) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	before := auditRecords(t, cli, audit...)

	migrate := []string{"migrate-db", "--from", from.spec, "--to", to.spec, "--json"}
	if from.driver == "" {
		if code, out := runWharf(t, migrate...); code != 1 || !strings.Contains(out, "stop it first") {
			t.Errorf("migrate-db beside a running server: exit %d\n%s", code, out)
		}
	}
	w.Stop()
	code, out := runWharf(t, migrate...)
	if code != 0 {
		t.Fatalf("migrate-db: exit %d\n%s", code, out)
	}
	if (from.password != "" && strings.Contains(out, from.password)) || (to.password != "" && strings.Contains(out, to.password)) {
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
	driver := to.name()
	w2 := harness.StartWharfCommand(t, to.env(),
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
	after := auditRecords(t, dbCLI, append([]string{"audit", "ls", "--json", "--limit", "1000"}, to.flags()...)...)
	if len(after) < len(before) || !hasActions(after, []string{"push", "user.create", "token.create"}) {
		t.Errorf("the audit log at %s has %d records (%s), the source had %d", driver, len(after), dump(after), len(before))
	}

	// The destination is in use now: copying again is refused.
	w2.Stop()
	if code, out := runWharf(t, migrate...); code != 1 || !strings.Contains(out, "not empty") {
		t.Errorf("second migrate-db: exit %d\n%s", code, out)
	}
}
