package metadata

import (
	"fmt"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestRepositorySizePlans: the size queries reach manifests, references
// and blobs through their indexes, so they cost what the repositories
// asked about hold, never a scan of a table. (UNION and GROUP BY sort
// their own rows: that temporary b-tree is expected.)
func TestRepositorySizePlans(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	for r := range 30 {
		repo := fmt.Sprintf("team/r%02d", r)
		for i := range 10 {
			d := digest.FromString(fmt.Sprint(r, i))
			if err := s.AddBlob(ctx, repo, d, 10); err != nil {
				t.Fatal(err)
			}
			m := &Manifest{Repo: repo, Digest: digest.FromString(fmt.Sprint("m", r, i)), MediaType: "m", Payload: []byte("x"), Size: 1,
				Refs: []Ref{{Digest: d, Kind: RefBlob}}}
			if err := s.PutManifest(ctx, m, []string{fmt.Sprint("v", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.db.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	ids := []any{int64(1), int64(2)}
	blob := digest.FromString("0 0").String()
	for _, q := range []struct {
		name  string
		query string
		args  []any
	}{
		{"page", repoPageQuery, []any{"", "team/", "team/" + maxPrefixRune, int64(100)}},
		{"usage", fmt.Sprintf(usageUnion, idList(2)), append(ids, ids...)},
		{"sizes", fmt.Sprintf(repoBytesQuery, idList(2)), append(ids, ids...)},
		{"blobs held", fmt.Sprintf(blobsHeldQuery, idList(1), idList(2)), append([]any{blob}, ids...)},
	} {
		plan := explain(t, s, q.query, q.args...)
		t.Logf("%s:\n%s", q.name, strings.Join(plan, "\n"))
		for _, line := range plan {
			for _, table := range []string{"blobs", "manifest_refs", "manifests", "tags", "repositories"} {
				if strings.HasPrefix(line, "SCAN "+table) || strings.HasPrefix(line, "SCAN "+table[:1]+" ") {
					t.Errorf("%s: query plan scans %s: %q", q.name, table, line)
				}
			}
		}
	}
}
