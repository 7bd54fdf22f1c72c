package metadata_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wantForeignKeys counts the REFERENCES clauses of the migrations: each
// must become a real foreign key on a database server.
var wantForeignKeys = countReferences()

func countReferences() int {
	files, _ := filepath.Glob(filepath.Join("migrations", "*.sql"))
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		n += strings.Count(string(b), "REFERENCES")
	}
	return n
}

func TestMigrationsHaveForeignKeys(t *testing.T) {
	if wantForeignKeys < 6 {
		t.Fatalf("found %d REFERENCES clauses in migrations/*.sql; the schema has at least 6", wantForeignKeys)
	}
}
