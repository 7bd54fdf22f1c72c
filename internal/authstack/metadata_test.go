package authstack

import (
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/testserver"
)

// servers are the database servers this package's tests share.
var servers testserver.Shared

func TestMain(m *testing.M) { os.Exit(servers.Run(m)) }

func TestOpenMetadata(t *testing.T) {
	t.Run("sqlite in the data directory by default", func(t *testing.T) {
		cfg := config.Default()
		cfg.Data = t.TempDir()
		meta, err := OpenMetadata(t.Context(), cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		meta.Close()
		if _, err := os.Stat(datadir.New(cfg.Data).Database()); err != nil {
			t.Errorf("no wharf.db in the data directory: %v", err)
		}
	})

	dsn := servers.Postgres(t).NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	u.User = url.UserPassword("wharf", "s3cret-wrong")
	wrong := u.String()
	dsnFile := filepath.Join(t.TempDir(), "dsn")
	if err := os.WriteFile(dsnFile, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		db      config.Database
		wantErr string
	}{
		{"postgres", config.Database{Driver: "postgres", DSN: dsn}, ""},
		{"postgres from dsn_file", config.Database{Driver: "postgres", DSNFile: dsnFile}, ""},
		{"wrong password", config.Database{Driver: "postgres", DSN: wrong}, "password authentication failed"},
		{"missing dsn_file", config.Database{Driver: "postgres", DSNFile: dsnFile + ".missing"}, "database.dsn_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Data = t.TempDir()
			cfg.Database = tc.db
			var logged strings.Builder
			meta, err := OpenMetadata(t.Context(), cfg, slog.New(slog.NewTextHandler(&logged, nil)))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("openMetadata: %v", err)
				}
				meta.Close()
				if !strings.Contains(logged.String(), "postgres://wharf:***@") {
					t.Errorf("the log does not name the database, redacted:\n%s", logged.String())
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("openMetadata = %v, want an error containing %q", err, tc.wantErr)
			}
			for _, secret := range []string{password, "s3cret-wrong"} {
				if strings.Contains(logged.String(), secret) || (err != nil && strings.Contains(err.Error(), secret)) {
					t.Errorf("a password shows: err %v, log:\n%s", err, logged.String())
				}
			}
		})
	}
}
