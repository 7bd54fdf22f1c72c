package metadatatest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"wharf/internal/metadata"
)

// generation returns the identity generation, failing the test on error.
func generation(t *testing.T, s *metadata.Store) int64 {
	t.Helper()
	g, err := s.IdentityGeneration(t.Context())
	if err != nil {
		t.Fatalf("IdentityGeneration: %v", err)
	}
	return g
}

// wantBumped runs fn and checks that it changed the identity generation
// exactly when bump is true.
func wantBumped(t *testing.T, s *metadata.Store, what string, bump bool, fn func() error) {
	t.Helper()
	before := generation(t, s)
	err := fn()
	after := generation(t, s)
	if (after != before) != bump {
		t.Errorf("%s (err %v): generation %d → %d; want changed=%v", what, err, before, after, bump)
	}
}

func testUsers(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	alice := metadata.User{Name: "alice", PasswordHash: "$2y$04$hash", Labels: map[string][]string{"org": {"acme"}}}
	wantBumped(t, s, "CreateUser", true, func() error { return s.CreateUser(ctx, alice) })
	wantBumped(t, s, "CreateUser duplicate", false, func() error {
		err := s.CreateUser(ctx, alice)
		wantErr(t, "CreateUser(alice) again", err, metadata.ErrExists)
		return err
	})
	for _, u := range []metadata.User{{Name: "ci", Robot: true}, {Name: "Alice", PasswordHash: "x"}, {Name: "bob", PasswordHash: "y", Disabled: true}} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%s): %v", u.Name, err)
		}
	}
	if err := s.CreateUser(ctx, metadata.User{}); err == nil {
		t.Error("CreateUser with an empty name succeeded")
	}
	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	if diff := cmp.Diff([]string{"Alice", "alice", "bob", "ci"}, names); diff != "" {
		t.Errorf("ListUsers names, want byte order (-want +got):\n%s", diff)
	}
	got, err := s.GetUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.PasswordHash != alice.PasswordHash || got.Robot || got.Disabled || !cmp.Equal(got.Labels, alice.Labels) || got.CreatedAt.IsZero() {
		t.Errorf("GetUser(alice) = %+v", got)
	}
	if ci, _ := s.GetUser(ctx, "ci"); ci == nil || !ci.Robot || ci.PasswordHash != "" || ci.Labels != nil {
		t.Errorf("GetUser(ci) = %+v; want a robot without password or labels", ci)
	}
	_, err = s.GetUser(ctx, "mallory")
	wantErr(t, "GetUser(mallory)", err, metadata.ErrNotFound)

	wantBumped(t, s, "SetUserPassword", true, func() error { return s.SetUserPassword(ctx, "alice", "$2y$04$new") })
	wantBumped(t, s, "SetUserDisabled", true, func() error { return s.SetUserDisabled(ctx, "alice", true) })
	wantBumped(t, s, "SetUserLabels", true, func() error { return s.SetUserLabels(ctx, "alice", nil) })
	got, _ = s.GetUser(ctx, "alice")
	if got == nil || got.PasswordHash != "$2y$04$new" || !got.Disabled || got.Labels != nil {
		t.Errorf("after updates GetUser(alice) = %+v", got)
	}
	if err := s.SetUserDisabled(ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetUser(ctx, "alice"); got == nil || got.Disabled {
		t.Errorf("enable did not stick: %+v", got)
	}
	wantBumped(t, s, "update of a missing user", false, func() error {
		for _, err := range []error{s.SetUserPassword(ctx, "mallory", "h"), s.SetUserDisabled(ctx, "mallory", true), s.DeleteUser(ctx, "mallory")} {
			wantErr(t, "update of mallory", err, metadata.ErrNotFound)
		}
		return nil
	})
	wantBumped(t, s, "DeleteUser", true, func() error { return s.DeleteUser(ctx, "alice") })
	_, err = s.GetUser(ctx, "alice")
	wantErr(t, "GetUser after DeleteUser", err, metadata.ErrNotFound)
}

// testUserSessions checks that a password change, disabling and deleting a
// user revoke the user's refresh tokens, and nobody else's.
func testUserSessions(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	now := time.Now()
	for _, name := range []string{"alice", "bob"} {
		if err := s.CreateUser(ctx, metadata.User{Name: name, PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	session := func(account, tok string) {
		if err := s.CreateRefreshToken(ctx, tok, metadata.RefreshToken{Account: account, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		change func() error
	}{
		{"password", func() error { return s.SetUserPassword(ctx, "alice", "h2") }},
		{"disable", func() error { return s.SetUserDisabled(ctx, "alice", true) }},
		{"delete", func() error { return s.DeleteUser(ctx, "alice") }},
	} {
		session("alice", "alice-"+tc.name)
		session("bob", "bob-"+tc.name)
		if err := tc.change(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if _, err := s.UseRefreshToken(ctx, "alice-"+tc.name, now); !errors.Is(err, metadata.ErrNotFound) {
			t.Errorf("%s: alice's refresh token still works (%v)", tc.name, err)
		}
		if _, err := s.UseRefreshToken(ctx, "bob-"+tc.name, now); err != nil {
			t.Errorf("%s: bob's refresh token was revoked too: %v", tc.name, err)
		}
	}
}

func testTeams(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	for _, name := range []string{"alice", "bob"} {
		if err := s.CreateUser(ctx, metadata.User{Name: name, PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, team := range []string{"ops", "dev", "Dev"} {
		wantBumped(t, s, "CreateTeam", true, func() error { return s.CreateTeam(ctx, team) })
	}
	wantErr(t, "CreateTeam(dev) again", s.CreateTeam(ctx, "dev"), metadata.ErrExists)
	wantBumped(t, s, "AddTeamMember", true, func() error { return s.AddTeamMember(ctx, "dev", "bob") })
	for _, m := range [][2]string{{"dev", "alice"}, {"ops", "alice"}} {
		if err := s.AddTeamMember(ctx, m[0], m[1]); err != nil {
			t.Fatalf("AddTeamMember(%s, %s): %v", m[0], m[1], err)
		}
	}
	wantErr(t, "AddTeamMember twice", s.AddTeamMember(ctx, "dev", "alice"), metadata.ErrExists)
	wantErr(t, "AddTeamMember to a missing team", s.AddTeamMember(ctx, "qa", "alice"), metadata.ErrNotFound)
	wantErr(t, "AddTeamMember of a missing user", s.AddTeamMember(ctx, "dev", "mallory"), metadata.ErrNotFound)

	teams, err := s.ListTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []metadata.Team{{Name: "Dev"}, {Name: "dev", Members: []string{"alice", "bob"}}, {Name: "ops", Members: []string{"alice"}}}
	if diff := cmp.Diff(want, teams, cmpopts.IgnoreFields(metadata.Team{}, "CreatedAt")); diff != "" {
		t.Errorf("ListTeams (-want +got):\n%s", diff)
	}
	if u, _ := s.GetUser(ctx, "alice"); u == nil || !cmp.Equal(u.Teams, []string{"dev", "ops"}) {
		t.Errorf("alice's teams = %+v, want [dev ops]", u)
	}

	wantBumped(t, s, "RemoveTeamMember", true, func() error { return s.RemoveTeamMember(ctx, "dev", "alice") })
	wantErr(t, "RemoveTeamMember twice", s.RemoveTeamMember(ctx, "dev", "alice"), metadata.ErrNotFound)
	wantBumped(t, s, "DeleteTeam", true, func() error { return s.DeleteTeam(ctx, "ops") })
	wantErr(t, "DeleteTeam twice", s.DeleteTeam(ctx, "ops"), metadata.ErrNotFound)
	if u, _ := s.GetUser(ctx, "alice"); u == nil || len(u.Teams) != 0 {
		t.Errorf("alice's teams after removals = %+v, want none", u)
	}
	// Deleting a user removes its memberships.
	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	teams, _ = s.ListTeams(ctx)
	if diff := cmp.Diff([]metadata.Team{{Name: "Dev"}, {Name: "dev"}}, teams, cmpopts.IgnoreFields(metadata.Team{}, "CreatedAt")); diff != "" {
		t.Errorf("ListTeams after DeleteUser (-want +got):\n%s", diff)
	}
}

func str(s string) *string { return &s }

func testACLRules(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	add := func(comment string, pos int) metadata.ACLRule {
		t.Helper()
		r, err := s.AddACLRule(ctx, metadata.ACLRule{Account: str(comment), Actions: []string{"pull"}, Comment: comment}, pos)
		if err != nil {
			t.Fatalf("AddACLRule(%s, %d): %v", comment, pos, err)
		}
		return r
	}
	order := func(want ...string) {
		t.Helper()
		rules, err := s.ListACLRules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, r := range rules {
			if r.Position != i+1 {
				t.Errorf("rule %q has position %d at index %d", r.Comment, r.Position, i)
			}
			got = append(got, r.Comment)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("rule order (-want +got):\n%s", diff)
		}
	}
	order()
	a := add("a", 0)
	c := add("c", 0)
	b := add("b", 2)
	first := add("first", 1)
	add("last", 99)
	order("first", "a", "b", "c", "last")
	if b.Position != 2 || a.ID == c.ID || first.Position != 1 {
		t.Errorf("AddACLRule returned %+v, %+v", b, first)
	}

	wantBumped(t, s, "MoveACLRule", true, func() error {
		pos, err := s.MoveACLRule(ctx, c.ID, 1)
		if pos != 1 {
			t.Errorf("MoveACLRule to 1 = %d", pos)
		}
		return err
	})
	order("c", "first", "a", "b", "last")
	if pos, err := s.MoveACLRule(ctx, c.ID, 100); err != nil || pos != 5 {
		t.Errorf("MoveACLRule past the end = %d, %v; want 5", pos, err)
	}
	order("first", "a", "b", "last", "c")
	if _, err := s.MoveACLRule(ctx, a.ID, 3); err != nil {
		t.Fatal(err)
	}
	order("first", "b", "a", "last", "c")
	_, err := s.MoveACLRule(ctx, 12345, 1)
	wantErr(t, "MoveACLRule(missing)", err, metadata.ErrNotFound)
	if _, err := s.MoveACLRule(ctx, a.ID, 0); err == nil {
		t.Error("MoveACLRule to position 0 succeeded")
	}

	wantBumped(t, s, "DeleteACLRule", true, func() error { return s.DeleteACLRule(ctx, b.ID) })
	order("first", "a", "last", "c")
	wantErr(t, "DeleteACLRule twice", s.DeleteACLRule(ctx, b.ID), metadata.ErrNotFound)

	// Every match field round-trips, and absent differs from empty.
	full := metadata.ACLRule{Account: str(""), Type: str("repository"), Name: str("${account}/*"), Service: str("wharf"),
		IP: str("10.0.0.0/8"), Labels: map[string]string{"groups": "dev"}, Actions: []string{}, Comment: "deny anonymous"}
	stored, err := s.AddACLRule(ctx, full, 1)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := s.ListACLRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stored, rules[0], cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
		t.Errorf("stored rule (-AddACLRule +ListACLRules):\n%s", diff)
	}
	if rules[1].Type != nil || rules[1].Labels != nil || rules[1].IP != nil {
		t.Errorf("absent match fields read back set: %+v", rules[1])
	}
}

func testAccessTokens(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	now := time.Now()
	for _, name := range []string{"alice", "ci"} {
		if err := s.CreateUser(ctx, metadata.User{Name: name, PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	tok := metadata.AccessToken{ID: "t1", User: "ci", Hash: "hash1", Description: "gitlab", Scopes: []string{"repository:app:pull"},
		ExpiresAt: now.Add(time.Hour)}
	wantBumped(t, s, "CreateAccessToken", true, func() error { return s.CreateAccessToken(ctx, tok) })
	wantErr(t, "CreateAccessToken duplicate id", s.CreateAccessToken(ctx, tok), metadata.ErrExists)
	wantErr(t, "CreateAccessToken for a missing user", s.CreateAccessToken(ctx, metadata.AccessToken{ID: "t9", User: "mallory", Hash: "h"}), metadata.ErrNotFound)
	if err := s.CreateAccessToken(ctx, metadata.AccessToken{ID: "t2", User: "alice", Hash: "hash2"}); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListAccessTokens(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "t2" || all[1].ID != "t1" {
		t.Fatalf("ListAccessTokens(all) = %+v; want t2 (alice), t1 (ci)", all)
	}
	got := all[1]
	if got.User != "ci" || got.Hash != "hash1" || got.Description != "gitlab" || !cmp.Equal(got.Scopes, tok.Scopes) ||
		!got.ExpiresAt.Equal(tok.ExpiresAt.Truncate(0)) || !got.LastUsed.IsZero() || !got.RevokedAt.IsZero() {
		t.Errorf("stored token = %+v", got)
	}
	if !all[0].ExpiresAt.IsZero() || all[0].Scopes == nil {
		t.Errorf("token without expiry or scopes = %+v", all[0])
	}

	// Last use is recorded without changing the generation, and never
	// moves back.
	wantBumped(t, s, "TouchAccessTokens", false, func() error {
		return s.TouchAccessTokens(ctx, map[string]time.Time{"t1": now, "missing": now})
	})
	if err := s.TouchAccessTokens(ctx, map[string]time.Time{"t1": now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	list, _ := s.ListAccessTokens(ctx, "ci")
	if len(list) != 1 || !list[0].LastUsed.Equal(now.Truncate(0)) {
		t.Errorf("last used = %+v, want %v", list, now)
	}

	// Revoking ends the sessions opened with the token, not the others.
	for tokName, labels := range map[string]map[string][]string{
		"rt-with-t1": {"wharf.token": {"t1"}},
		"rt-other":   {"wharf.token": {"t3"}},
		"rt-plain":   nil,
	} {
		if err := s.CreateRefreshToken(ctx, tokName, metadata.RefreshToken{Account: "ci", Labels: labels, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	var revoked metadata.AccessToken
	wantBumped(t, s, "RevokeAccessToken", true, func() error {
		revoked, err = s.RevokeAccessToken(ctx, "t1", "wharf.token")
		return err
	})
	if err != nil || revoked.User != "ci" || revoked.RevokedAt.IsZero() {
		t.Fatalf("RevokeAccessToken = %+v, %v", revoked, err)
	}
	if _, err := s.UseRefreshToken(ctx, "rt-with-t1", now); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("a session opened with the revoked token still works: %v", err)
	}
	for _, rt := range []string{"rt-other", "rt-plain"} {
		if _, err := s.UseRefreshToken(ctx, rt, now); err != nil {
			t.Errorf("session %s was revoked with an unrelated token: %v", rt, err)
		}
	}
	again, err := s.RevokeAccessToken(ctx, "t1", "")
	if err != nil || !again.RevokedAt.Equal(revoked.RevokedAt) {
		t.Errorf("revoking twice = %+v, %v; want the first revocation time", again, err)
	}
	_, err = s.RevokeAccessToken(ctx, "missing", "")
	wantErr(t, "RevokeAccessToken(missing)", err, metadata.ErrNotFound)

	// Deleting the user deletes its tokens.
	if err := s.DeleteUser(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.ListAccessTokens(ctx, ""); len(list) != 1 || list[0].ID != "t2" {
		t.Errorf("tokens after deleting ci = %+v; want t2 only", list)
	}
}
