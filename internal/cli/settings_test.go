package cli

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wharf/internal/authstack"
	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
	"wharf/internal/testserver"
)

// servers are the database servers this package's tests share.
var servers testserver.Shared

func TestMain(m *testing.M) { os.Exit(servers.Run(m)) }

// entries lists what a directory holds.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	list, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Name())
	}
	return names
}

// openPostgres opens the metadata store of a PostgreSQL database, as wharf
// serve would.
func openPostgres(t *testing.T, dsn string) *metadata.Store {
	t.Helper()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Database = config.Database{Driver: config.DriverPostgres, DSN: dsn}
	s, err := authstack.OpenMetadata(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestManagementUsesTheServersDatabase: on a server whose database is
// PostgreSQL, given by WHARF_DATABASE_DRIVER and WHARF_DATABASE_DSN (or
// the same flags as wharf serve's), `wharf user add` and the other
// management commands write to that database, never to a SQLite file of
// their own in the data directory. t.Setenv: not parallel.
func TestManagementUsesTheServersDatabase(t *testing.T) {
	pg := servers.Postgres(t)

	t.Run("environment", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		data := filepath.Join(t.TempDir(), "data")
		t.Setenv("WHARF_DATABASE_DRIVER", "postgres")
		t.Setenv("WHARF_DATABASE_DSN", dsn)
		mustCLI(t, "correct horse battery\n", "user", "add", "alice", "--password-stdin", "--data", data)
		mustCLI(t, "", "team", "add", "dev", "--data", data)
		mustCLI(t, "", "acl", "add", "--account", "alice", "--name", "alice/*", "--actions", "pull", "--data", data)

		store := openPostgres(t, dsn)
		if u, err := store.GetUser(t.Context(), "alice"); err != nil || u.Name != "alice" {
			t.Fatalf("alice in PostgreSQL: %+v, %v", u, err)
		}
		if rules, err := store.ListACLRules(t.Context()); err != nil || len(rules) != 1 {
			t.Errorf("rules in PostgreSQL: %+v, %v", rules, err)
		}
		if _, err := os.Stat(datadir.New(data).Database()); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a SQLite database in the data directory: %v", err)
		}
		if names := entries(t, data); len(names) != 0 {
			t.Errorf("the data directory holds %v; want nothing", names)
		}
		if out := mustCLI(t, "", "user", "ls", "--data", data); !strings.Contains(out, "alice") {
			t.Errorf("user ls does not read PostgreSQL:\n%s", out)
		}
	})

	t.Run("flags", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		data := filepath.Join(t.TempDir(), "data")
		mustCLI(t, "correct horse battery\n", "user", "add", "bob", "--password-stdin", "--data", data,
			"--database-driver", "postgres", "--database-dsn", dsn)
		if u, err := openPostgres(t, dsn).GetUser(t.Context(), "bob"); err != nil || u.Name != "bob" {
			t.Fatalf("bob in PostgreSQL: %+v, %v", u, err)
		}
		if names := entries(t, data); len(names) != 0 {
			t.Errorf("the data directory holds %v; want nothing", names)
		}
	})

	t.Run("a file's database, its DSN from the environment", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		data := filepath.Join(t.TempDir(), "data")
		file := filepath.Join(t.TempDir(), "wharf.yml")
		if err := os.WriteFile(file, []byte("data: "+data+"\ndatabase:\n  driver: postgres\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("WHARF_CONFIG", file)
		t.Setenv("WHARF_DATABASE_DSN", dsn)
		mustCLI(t, "", "user", "add", "ci", "--robot")
		if u, err := openPostgres(t, dsn).GetUser(t.Context(), "ci"); err != nil || !u.Robot {
			t.Fatalf("ci in PostgreSQL: %+v, %v", u, err)
		}
		if names := entries(t, data); len(names) != 0 {
			t.Errorf("the data directory holds %v; want nothing", names)
		}
	})
}

// TestConfigProblemsStopBeforeAnythingIsCreated: a typo in an ACL rule or
// a user entry of wharf.yml is reported with its line and the key it
// probably meant, by wharf serve and by wharf user alike, before the data
// directory, a database or a key exists.
func TestConfigProblemsStopBeforeAnythingIsCreated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		want       []string
	}{
		{"acl rule", "acl:\n  - match: {acount: alice}\n    actions: [pull]\n",
			[]string{"invalid configuration:", `wharf.yml: line 2: acl: unknown key "acount" in match (did you mean "account"?)`}},
		{"acl pattern", "acl:\n  - match: {account: alice, name: \"${acount}/*\"}\n    actions: [pull]\n",
			[]string{"acl: rule #0 (line 2): match.name: unknown placeholder ${acount} (did you mean ${account}?)"}},
		{"user entry", "users:\n  alice:\n    pasword: \"" + testHash + "\"\n",
			[]string{`wharf.yml: line 3: users: unknown key "pasword" in user "alice" (did you mean "password"?)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := filepath.Join(dir, "wharf.yml")
			if err := os.WriteFile(file, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			// An empty data directory stays empty; one that does not exist
			// yet is not made.
			empty, absent := filepath.Join(dir, "empty"), filepath.Join(dir, "absent")
			if err := os.Mkdir(empty, 0o700); err != nil {
				t.Fatal(err)
			}
			for _, data := range []string{empty, absent} {
				for _, args := range [][]string{
					{"serve", "--config", file, "--data", data, "--addr", "127.0.0.1:0"},
					{"user", "add", "bob", "--password-stdin", "--config", file, "--data", data},
					{"acl", "check", "bob", "repository:bob/app:pull", "--config", file, "--data", data},
				} {
					var out, errb bytes.Buffer
					if code := Run(t.Context(), args, &out, &errb); code == 0 {
						t.Fatalf("wharf %s succeeded:\n%s", args[0], out.String())
					}
					for _, want := range tc.want {
						if !strings.Contains(errb.String(), want) {
							t.Errorf("wharf %s: stderr does not say %q:\n%s", args[0], want, errb.String())
						}
					}
					if names := entries(t, empty); len(names) != 0 {
						t.Fatalf("wharf %s wrote %v into the data directory", args[0], names)
					}
					if _, err := os.Stat(absent); !errors.Is(err, fs.ErrNotExist) {
						t.Fatalf("wharf %s created the data directory: %v", args[0], err)
					}
				}
			}
		})
	}
}

// testHash is a bcrypt hash (cost 5) for configured users.
const testHash = "$2y$05$WuwBasGDAgr.QCbGIjKJaep4dhxeai9gNZdmBnQXqpKly57oNutya"

// TestDoctorReadsTheSettingsOfServe: without flags, wharf doctor checks the
// setup wharf serve would run in the same environment: WHARF_CONFIG's file
// and the WHARF_* variables over it. t.Setenv: not parallel.
func TestDoctorReadsTheSettingsOfServe(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "wharf.yml")
	if err := os.WriteFile(file, []byte("data: "+filepath.Join(dir, "from-file")+"\ntls: off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WHARF_CONFIG", file)
	out, _, err := runCLI(t, "", "doctor")
	if err != nil || !strings.Contains(out, filepath.Join(dir, "from-file")+" is writable") {
		t.Errorf("doctor did not check the file's data directory (%v):\n%s", err, out)
	}
	t.Setenv("WHARF_DATA", filepath.Join(dir, "from-env"))
	out, _, err = runCLI(t, "", "doctor")
	if err != nil || !strings.Contains(out, filepath.Join(dir, "from-env")+" is writable") {
		t.Errorf("WHARF_DATA does not win over the file (%v):\n%s", err, out)
	}
	if err := os.WriteFile(file, []byte("acl:\n  - match: {acount: a}\n    actions: [pull]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runCLI(t, "", "doctor"); err == nil || !strings.Contains(out, `line 2: acl: unknown key "acount"`) {
		t.Errorf("doctor on a file with a typo: %v\n%s", err, out)
	}
}
