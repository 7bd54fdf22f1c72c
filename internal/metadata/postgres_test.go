package metadata_test

import (
	"database/sql"
	"net/url"
	"strings"
	"testing"

	"wharf/internal/metadata"
	"wharf/internal/metadata/metadatatest"
)

func TestPostgresConformance(t *testing.T) {
	pg := servers.Postgres(t)
	metadatatest.Run(t, func(t *testing.T) *metadata.Store {
		return openServer(t, "postgres", pg.NewDatabase(t))
	})
}

func TestPostgresServer(t *testing.T) {
	pg := servers.Postgres(t)
	metadatatest.RunServer(t, "postgres", func(t *testing.T) string { return pg.NewDatabase(t) })
}

// TestPostgresOpenErrors checks that bad DSNs fail with a clear error that
// never quotes the password.
func TestPostgresOpenErrors(t *testing.T) {
	pg := servers.Postgres(t)
	good, err := url.Parse(pg.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	password, _ := good.User.Password()
	wrongPassword := *good
	wrongPassword.User = url.UserPassword("wharf", "s3cret-wrong-password")
	noDatabase := *good
	noDatabase.Path = "/no_such_database"
	for _, tc := range []struct{ name, dsn, want string }{
		{"empty", "", "empty dsn"},
		{"unparsable URL holding a password", "postgres://wharf:" + password + "@127.0.0.1:notaport/db", "cannot be parsed"},
		{"unparsable pairs holding a password", "host=127.0.0.1 password='" + password, "cannot be parsed"},
		{"wrong password", wrongPassword.String(), "password authentication failed"},
		{"unknown database", noDatabase.String(), "no_such_database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := metadata.Open(t.Context(), "postgres", tc.dsn, nil)
			if err == nil {
				s.Close()
				t.Fatalf("Open: got nil error")
			}
			for _, secret := range []string{password, "s3cret-wrong-password"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error quotes a password: %v", err)
				}
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestPostgresSchema checks what the conformance suite cannot see: keys
// are declared with the "C" collation and foreign keys exist.
func TestPostgresSchema(t *testing.T) {
	dsn := servers.Postgres(t).NewDatabase(t)
	openServer(t, "postgres", dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var fks, keys, notC int
	err = db.QueryRowContext(t.Context(), `SELECT
 (SELECT COUNT(*) FROM information_schema.table_constraints WHERE constraint_type = 'FOREIGN KEY' AND table_schema = 'public'),
 (SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'public' AND data_type = 'character varying'),
 (SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'public' AND data_type IN ('character varying', 'text')
    AND COALESCE(collation_name, '') <> 'C')`).Scan(&fks, &keys, &notC)
	if err != nil {
		t.Fatal(err)
	}
	if fks != wantForeignKeys || keys == 0 || notC != 0 {
		t.Errorf("schema: %d foreign keys (want %d), %d key columns, %d text columns without COLLATE \"C\" (want 0)", fks, wantForeignKeys, keys, notC)
	}
}
