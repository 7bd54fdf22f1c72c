package metadata

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTablesOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		sql     []string
		want    []string
		wantErr bool
	}{
		{"creation order", []string{"CREATE TABLE a (id {{id}});\nCREATE TABLE b (a_id BIGINT REFERENCES a (id));"}, []string{"a", "b"}, false},
		{"parent created later", []string{
			"CREATE TABLE child (x BIGINT);\nCREATE TABLE parent (id {{id}});",
			"ALTER TABLE child ADD COLUMN p BIGINT REFERENCES parent (id);",
		}, []string{"parent", "child"}, false},
		{"dropped", []string{"CREATE TABLE a (x BIGINT);\nCREATE TABLE old (x BIGINT);", "DROP TABLE old;"}, []string{"a"}, false},
		{"cycle", []string{"CREATE TABLE a (b BIGINT REFERENCES b (x));\nCREATE TABLE b (a BIGINT REFERENCES a (x));"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ms []migration
			for i, s := range tc.sql {
				ms = append(ms, migration{version: int64(i + 1), name: "m.sql", sql: s})
			}
			got, err := tablesOf(ms)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			var names []string
			for _, tb := range got {
				names = append(names, tb.name)
			}
			if diff := cmp.Diff(tc.want, names); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}

	// The real schema: every table after its parents, ids and seeds found.
	tables, err := schemaTables()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]table{}
	for _, tb := range tables {
		for _, r := range tb.refs {
			if _, ok := seen[r]; !ok && r != tb.name {
				t.Errorf("%s comes before %s, which it references", tb.name, r)
			}
		}
		seen[tb.name] = tb
	}
	if seen["users"].id != "id" || !seen["identity_generation"].seeded || !seen["read_only"].seeded || seen["users"].seeded {
		t.Errorf("users %+v, identity_generation %+v, read_only %+v", seen["users"], seen["identity_generation"], seen["read_only"])
	}
}
