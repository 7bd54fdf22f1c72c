package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"wharf/e2e/harness"
	"wharf/internal/datadir"
	"wharf/internal/testserver"
)

// TestDatabasePostgres runs `wharf serve` with its metadata in a real
// PostgreSQL server.
func TestDatabasePostgres(t *testing.T) {
	t.Parallel()
	pg := testserver.StartPostgres(t)
	testDatabase(t, "postgres", pg.DSN, pg.Password())
}

// TestDatabaseMariaDB runs `wharf serve` with its metadata in a real
// MariaDB server.
func TestDatabaseMariaDB(t *testing.T) {
	t.Parallel()
	m := testserver.StartMariaDB(t)
	testDatabase(t, "mysql", m.DSN, m.Password())
}

// testDatabase pushes and pulls images through a wharf whose metadata
// lives in a database server, lists tags and the catalog, and restarts the
// server: everything is still there. The DSN, password included, is given
// the way a deployment would, in WHARF_DATABASE_DSN; it must never show in
// the log.
func testDatabase(t *testing.T, driver, dsn, password string) {
	data := t.TempDir()
	env := []string{"WHARF_DATABASE_DRIVER=" + driver, "WHARF_DATABASE_DSN=" + dsn}
	w := harness.StartWharfCommand(t, env, "serve", "--addr", "127.0.0.1:0", "--data", data, "--auth", "none", "--tls", "off")
	ctx := testContext(t, 5*time.Minute)

	// Two repositories, several tags, byte-ordered listings.
	pushed := map[string]v1.Image{}
	for _, r := range []string{"library/app:v1", "library/app:V2", "library/app:v10", "library/app-b:latest", "library/app/sub:latest"} {
		img, err := random.Image(32<<10, 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref(t, w, r), img, remoteOpts(ctx)...); err != nil {
			t.Fatalf("push %s: %v\n%s", r, err, w.Log())
		}
		pushed[r] = img
	}
	check := func(w *harness.Wharf) {
		t.Helper()
		for r, img := range pushed {
			got, err := remote.Image(ref(t, w, r), remoteOpts(ctx)...)
			if err != nil {
				t.Fatalf("pull %s: %v", r, err)
			}
			want, _ := img.Digest()
			if d, _ := got.Digest(); d != want {
				t.Errorf("pull %s: digest %s, want %s", r, d, want)
			}
			if err := validate.Image(got); err != nil {
				t.Errorf("pull %s: %v", r, err)
			}
		}
		repo, err := name.NewRepository(w.Addr()+"/library/app", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		tags, err := remote.List(repo, remoteOpts(ctx)...)
		if diff := cmp.Diff([]string{"V2", "v1", "v10"}, tags); err != nil || diff != "" {
			t.Errorf("tags list: %v, mismatch (-want +got):\n%s", err, diff)
		}
		reg, err := name.NewRegistry(w.Addr(), name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		all := []string{"library/app", "library/app-b", "library/app/sub"} // '-' < '/' in byte order
		catalog, err := remote.Catalog(ctx, reg, remoteOpts(ctx)...)
		if diff := cmp.Diff(all, catalog); err != nil || diff != "" {
			t.Errorf("catalog: %v, mismatch (-want +got):\n%s", err, diff)
		}
		page, err := remote.CatalogPage(reg, "library/app", 1, remoteOpts(ctx)...)
		if diff := cmp.Diff(all[1:2], page); err != nil || diff != "" {
			t.Errorf("catalog page after library/app: %v, mismatch (-want +got):\n%s", err, diff)
		}
	}
	check(w)

	// The metadata is in the server, not in an SQLite file.
	if _, err := os.Stat(datadir.New(data).Database()); !os.IsNotExist(err) {
		t.Errorf("wharf.db exists in the data directory (%v): the metadata did not go to %s", err, driver)
	}
	if !strings.Contains(w.Log(), "metadata database open") || !strings.Contains(w.Log(), driver+" ") {
		t.Errorf("the log does not say which database is used:\n%s", w.Log())
	}

	logs := []string{w.Log()}
	w.Stop()
	w.Restart()
	check(w)
	logs = append(logs, w.Log())
	if strings.Contains(logs[1], "applied schema migration") {
		t.Errorf("the restart migrated again:\n%s", logs[1])
	}
	for i, log := range logs {
		if strings.Contains(log, password) {
			t.Errorf("the log of start %d shows the database password:\n%s", i+1, log)
		}
	}
}
