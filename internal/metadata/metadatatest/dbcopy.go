package metadatatest

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/metadata"
)

// testCopyAll fills an SQLite store the way a registry does (images,
// accounts, rules, tokens, audit rows, read-only mode), copies it into
// the store under test with CopyAll, and reads everything back through
// the store's API; then adds rows on the copy (the sequences were moved
// past the copied ids), refuses a second copy into a database that is no
// longer empty, and with Force replaces it.
func testCopyAll(t *testing.T, dst *metadata.Store) {
	ctx := t.Context()
	src, err := metadata.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "source.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })

	config := addBlob(t, src, "team/app", "config")
	layer := addBlob(t, src, "team/app", "layer")
	m := image("team/app", "v1", config, layer)
	m.Annotations = map[string]string{"a": "ünïcode"}
	put(t, src, m, "v1", "latest")
	other := image("team/other", "v2", addBlob(t, src, "team/other", "other layer"))
	put(t, src, other, "stable")
	for _, u := range []metadata.User{{Name: "alice", PasswordHash: "$2y$04$a", Labels: map[string][]string{"org": {"acme"}}}, {Name: "ci", Robot: true}} {
		if err := src.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.CreateTeam(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	if err := src.AddTeamMember(ctx, "dev", "alice"); err != nil {
		t.Fatal(err)
	}
	account := "alice"
	if _, err := src.AddACLRule(ctx, metadata.ACLRule{Account: &account, Actions: []string{"pull", "push"}, Comment: "alice pushes"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := src.CreateAccessToken(ctx, metadata.AccessToken{ID: "t1", User: "ci", Hash: "hash1", Scopes: []string{"repository:team/app:pull"},
		ExpiresAt: created.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := src.InsertAudit(ctx, []metadata.AuditRecord{{Time: created, Action: "login.failed", Actor: "mallory", Outcome: "failed"}}); err != nil {
		t.Fatal(err)
	}
	if err := src.SetReadOnly(ctx, true, "moving to PostgreSQL"); err != nil {
		t.Fatal(err)
	}
	gen, err := src.IdentityGeneration(ctx)
	if err != nil {
		t.Fatal(err)
	}

	rep, err := metadata.CopyAll(ctx, src, dst, metadata.CopyOptions{})
	if err != nil {
		t.Fatalf("CopyAll: %v", err)
	}
	counts := map[string]int64{}
	for _, tc := range rep.Tables {
		counts[tc.Table] = tc.Rows
	}
	for table, want := range map[string]int64{"repositories": 2, "manifests": 2, "tags": 3, "users": 2, "teams": 1,
		"team_members": 1, "acl_rules": 1, "access_tokens": 1, "audit_log": 1, "read_only": 1, "identity_generation": 1} {
		if counts[table] != want {
			t.Errorf("copied %d rows of %s, want %d (report %+v)", counts[table], table, want, rep.Tables)
		}
	}

	// The copy serves what the source did.
	wantManifest(t, dst, m)
	wantManifest(t, dst, other)
	wantResolve(t, dst, "team/app", "latest", m.Digest)
	wantResolve(t, dst, "team/other", "stable", other.Digest)
	wantTags(t, dst, "team/app", []string{"latest", "v1"})
	alice, err := dst.GetUser(ctx, "alice")
	if err != nil || alice.PasswordHash != "$2y$04$a" || !cmp.Equal(alice.Labels, map[string][]string{"org": {"acme"}}) {
		t.Errorf("GetUser(alice) = %+v, %v", alice, err)
	}
	rules, err := dst.ListACLRules(ctx)
	if err != nil || len(rules) != 1 || rules[0].Comment != "alice pushes" {
		t.Errorf("ListACLRules = %+v, %v", rules, err)
	}
	tokens, err := dst.ListAccessTokens(ctx, "")
	if err != nil || len(tokens) != 1 || tokens[0].ID != "t1" || !tokens[0].ExpiresAt.Equal(created.Add(time.Hour)) {
		t.Errorf("ListAccessTokens = %+v, %v", tokens, err)
	}
	audit, _, err := dst.ListAudit(ctx, metadata.AuditQuery{Limit: 10})
	if err != nil || len(audit) != 1 || audit[0].Actor != "mallory" {
		t.Errorf("ListAudit = %+v, %v", audit, err)
	}
	ro, err := dst.ReadOnly(ctx)
	if err != nil || !ro.Enabled || ro.Reason != "moving to PostgreSQL" {
		t.Errorf("ReadOnly = %+v, %v", ro, err)
	}
	if g, err := dst.IdentityGeneration(ctx); err != nil || g != gen {
		t.Errorf("IdentityGeneration = %d, %v; want %d", g, err, gen)
	}

	// New rows get ids past the copied ones.
	if err := dst.SetReadOnly(ctx, false, ""); err != nil {
		t.Fatal(err)
	}
	if err := dst.CreateUser(ctx, metadata.User{Name: "bob", PasswordHash: "h"}); err != nil {
		t.Fatalf("CreateUser after the copy: %v", err)
	}
	if err := dst.CreateTeam(ctx, "ops"); err != nil {
		t.Fatalf("CreateTeam after the copy: %v", err)
	}
	if _, err := dst.AddACLRule(ctx, metadata.ACLRule{Account: &account, Actions: []string{"pull"}}, 0); err != nil {
		t.Fatalf("AddACLRule after the copy: %v", err)
	}
	third := image("team/third", "v3", addBlob(t, dst, "team/third", "third layer"))
	put(t, dst, third, "v3")
	wantResolve(t, dst, "team/third", "v3", third.Digest)

	// The copy is now a registry of its own: a second copy is refused,
	// and changes nothing.
	_, err = metadata.CopyAll(ctx, src, dst, metadata.CopyOptions{})
	if !errors.Is(err, metadata.ErrNotEmpty) {
		t.Fatalf("CopyAll into a used database: %v, want ErrNotEmpty", err)
	}
	if _, err := dst.GetUser(ctx, "bob"); err != nil {
		t.Errorf("the refused copy changed the destination: %v", err)
	}
	rep, err = metadata.CopyAll(ctx, src, dst, metadata.CopyOptions{Force: true})
	if err != nil {
		t.Fatalf("CopyAll with Force: %v", err)
	}
	if rep.Replaced == 0 {
		t.Errorf("Force replaced %d rows", rep.Replaced)
	}
	if _, err := dst.GetUser(ctx, "bob"); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("GetUser(bob) after the forced copy: %v, want not found", err)
	}
	users, err := dst.ListUsers(ctx)
	if err != nil || !slices.EqualFunc(users, []metadata.User{{Name: "alice"}, {Name: "ci"}}, func(a, b metadata.User) bool { return a.Name == b.Name }) {
		t.Errorf("ListUsers after the forced copy = %+v, %v", users, err)
	}
}
