package doctor

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"wharf/internal/config"
	"wharf/internal/testserver"
)

// servers are the database servers this package's tests share.
var servers testserver.Shared

func TestMain(m *testing.M) { os.Exit(servers.Run(m)) }

// checkDB runs checkDatabase on db and returns its one result.
func checkDB(t *testing.T, db config.Database) Result {
	t.Helper()
	c := config.Default()
	c.Data = t.TempDir()
	c.Database = db
	var r Report
	checkDatabase(t.Context(), &r, c)
	if len(r.Results) != 1 {
		t.Fatalf("results = %+v, want one", r.Results)
	}
	return r.Results[0]
}

func TestCheckDatabase(t *testing.T) {
	pgDSN := servers.Postgres(t).NewDatabase(t)
	u, err := url.Parse(pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	pgPassword, _ := u.User.Password()
	u.User = url.UserPassword("wharf", "s3cret-wrong")
	pgWrong := u.String()

	myDSN := servers.MariaDB(t).NewDatabase(t)
	mc, err := mysql.ParseDSN(myDSN)
	if err != nil {
		t.Fatal(err)
	}
	myPassword := mc.Passwd
	mc.Passwd = "s3cret-wrong"
	myWrong := mc.FormatDSN()

	dsnFile := filepath.Join(t.TempDir(), "dsn")
	if err := os.WriteFile(dsnFile, []byte(pgDSN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sqliteFile := filepath.Join(t.TempDir(), "meta.db")

	for _, tc := range []struct {
		name       string
		db         config.Database
		status     Status
		wantDetail string
	}{
		{"sqlite not created yet", config.Database{}, Pass, "does not exist yet"},
		{"postgres", config.Database{Driver: "postgres", DSN: pgDSN}, Pass, "schema version"},
		{"postgres from dsn_file", config.Database{Driver: "postgres", DSNFile: dsnFile}, Pass, "schema version"},
		{"postgres wrong password", config.Database{Driver: "postgres", DSN: pgWrong}, Fail, "password authentication failed"},
		{"mysql", config.Database{Driver: "mysql", DSN: myDSN}, Pass, "schema version"},
		{"mysql wrong password", config.Database{Driver: "mysql", DSN: myWrong}, Fail, "Access denied"},
		{"missing dsn_file", config.Database{Driver: "postgres", DSNFile: dsnFile + ".missing"}, Fail, "database.dsn_file"},
		{"sqlite explicit path", config.Database{Driver: "sqlite", DSN: sqliteFile}, Pass, "does not exist yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := checkDB(t, tc.db)
			if res.Status != tc.status || !strings.Contains(res.Detail, tc.wantDetail) {
				t.Errorf("result = %+v, want status %v with %q", res, tc.status, tc.wantDetail)
			}
			if tc.status == Fail && res.Fix == "" {
				t.Errorf("a failure without a fix: %+v", res)
			}
			for _, secret := range []string{pgPassword, myPassword, "s3cret-wrong"} {
				if strings.Contains(res.Detail+res.Fix, secret) {
					t.Errorf("the report shows a password: %+v", res)
				}
			}
		})
	}
}
