package authstack

import (
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
)

// wharf serve creates the built-in admin in the account database it uses,
// whichever it is, and the admin logs in through the database backend.
// Servers starting at once on one shared database make one admin: the
// others find it, and write no generated password of their own.
func TestBuiltinAdminInEveryDatabase(t *testing.T) {
	for _, tc := range []struct {
		name    string
		servers int // SQLite's file is one server's (serve.lock)
		db      func(t *testing.T) config.Database
	}{
		{"sqlite", 1, func(*testing.T) config.Database { return config.Database{} }},
		{"postgres", 3, func(t *testing.T) config.Database {
			return config.Database{Driver: config.DriverPostgres, DSN: servers.Postgres(t).NewDatabase(t)}
		}},
		{"mysql", 3, func(t *testing.T) config.Database {
			return config.Database{Driver: config.DriverMySQL, DSN: servers.MariaDB(t).NewDatabase(t)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := tc.db(t)
			cfgs := make([]config.Config, tc.servers)
			metas := make([]*metadata.Store, tc.servers)
			for i := range cfgs {
				cfgs[i] = config.Default()
				cfgs[i].Data, cfgs[i].Database = t.TempDir(), db
				meta, err := OpenMetadata(t.Context(), cfgs[i], slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { meta.Close() })
				metas[i] = meta
			}
			errs := make([]error, tc.servers)
			var wg sync.WaitGroup
			for i := range cfgs {
				wg.Go(func() {
					s, err := Build(t.Context(), cfgs[i], Options{Meta: metas[i]})
					if err == nil {
						err = s.Close()
					}
					errs[i] = err
				})
			}
			wg.Wait()
			var passwords []string
			for i, err := range errs {
				if err != nil {
					t.Fatalf("server %d: %v", i, err)
				}
				if b, err := os.ReadFile(datadir.New(cfgs[i].Data).AdminPassword()); err == nil {
					passwords = append(passwords, strings.TrimSpace(string(b)))
				}
			}
			if len(passwords) != 1 {
				t.Fatalf("%d generated admin passwords for one database; want 1", len(passwords))
			}
			users, err := metas[0].ListUsers(t.Context())
			if err != nil || len(users) != 1 || users[0].Name != "admin" {
				t.Errorf("users: %+v, %v; want the one admin", users, err)
			}
			s, err := Build(t.Context(), cfgs[0], Options{Meta: metas[0]})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if res, _, err := s.Authn.Authenticate(t.Context(), "admin", auth.Secret(passwords[0])); err != nil || res != authn.Accepted {
				t.Errorf("admin's login with the generated password: %v, %v", res, err)
			}
		})
	}
}
