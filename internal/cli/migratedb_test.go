package cli

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"wharf/internal/metadata"
)

// TestMigrateDBRefusals: a wrong database spec is a wrong command line
// (exit 2); a missing SQLite source is an error that creates nothing; a
// password given in a spec is never printed.
func TestMigrateDBRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "wharf.db")
	s, err := metadata.Open(t.Context(), "sqlite", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	missing := filepath.Join(dir, "typo.db")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no from", []string{"--to", "sqlite:" + filepath.Join(dir, "new.db")}, exitUsage, "--from is missing (or set WHARF_MIGRATE_FROM)"},
		{"unknown form", []string{"--from", "sqlite:" + src, "--to", "oracle://scott:tiger@db/x"}, exitUsage, "want sqlite:PATH, postgres://"},
		{"same", []string{"--from", "sqlite:" + src, "--to", "sqlite:" + src}, exitUsage, "name the same database"},
		{"missing source", []string{"--from", "sqlite:" + missing, "--to", "sqlite:" + filepath.Join(dir, "new.db")}, exitFailure, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := Run(t.Context(), append([]string{"migrate-db"}, tc.args...), &stdout, &stderr)
			if code != tc.code || !bytes.Contains(stderr.Bytes(), []byte(tc.want)) {
				t.Errorf("exit %d, want %d; stderr does not say %q:\n%s", code, tc.code, tc.want, stderr.String())
			}
			if bytes.Contains(stderr.Bytes(), []byte("tiger")) {
				t.Errorf("the password shows:\n%s", stderr.String())
			}
		})
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused copy created %s: %v", missing, err)
	}
}

// TestMigrateDBSQLite copies one SQLite database into a new one and prints
// what to change in wharf.yml.
func TestMigrateDBSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "wharf.db")
	s, err := metadata.Open(t.Context(), "sqlite", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(t.Context(), metadata.User{Name: "alice", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	dst := filepath.Join(dir, "copy.db")
	out, errOut, err := runCLI(t, "", "migrate-db", "--from", "sqlite:"+src, "--to", "sqlite:"+dst)
	if err != nil {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	for _, want := range []string{"users                  1", "driver: sqlite", "Row counts match"} {
		if !bytes.Contains([]byte(out), []byte(want)) {
			t.Errorf("the summary does not say %q:\n%s", want, out)
		}
	}
	c, err := metadata.Open(t.Context(), "sqlite", dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.GetUser(t.Context(), "alice"); err != nil {
		t.Errorf("alice is not in the copy: %v", err)
	}
}
