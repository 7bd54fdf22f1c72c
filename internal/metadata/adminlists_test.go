package metadata_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"wharf/internal/metadata"
)

// TestListsAfter: the users, active access tokens and live sessions are
// read a page at a time in key order (keyset: the page after the last key
// of the previous one), with no gap or repeat across pages, without the
// revoked and expired, each user with its own teams only — on SQLite,
// PostgreSQL and MariaDB alike.
func TestListsAfter(t *testing.T) { eachDatabase(t, testListsAfter) }

// pages reads a whole list n at a time through read, and fails when a page
// is longer than n.
func pages[T any](t *testing.T, n int, read func(after string, n int) ([]T, error), key func(T) string) []string {
	t.Helper()
	var keys []string
	after := ""
	for range 1000 {
		page, err := read(after, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > n {
			t.Fatalf("a page of %d after %q holds %d", n, after, len(page))
		}
		for _, it := range page {
			keys = append(keys, key(it))
		}
		if len(page) < n {
			return keys
		}
		after = key(page[len(page)-1])
	}
	t.Fatal("the pages never end")
	return nil
}

func testListsAfter(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	now := time.Now()
	const users = 23
	var wantUsers, wantTokens, wantSessions []string
	for i := range users {
		name := fmt.Sprintf("u%02d", i)
		if err := s.CreateUser(ctx, metadata.User{Name: name, PasswordHash: "x"}); err != nil {
			t.Fatal(err)
		}
		wantUsers = append(wantUsers, name)
		// Per user: an active token, a revoked one, an expired one; a
		// live session, an expired one, a revoked one.
		for j, exp := range []time.Time{{}, now.Add(time.Hour), now.Add(-time.Hour)} {
			id := fmt.Sprintf("t%02d%d", i, j)
			if err := s.CreateAccessToken(ctx, metadata.AccessToken{ID: id, User: name, Hash: "h" + id, ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
			switch j {
			case 0:
				wantTokens = append(wantTokens, id)
			case 1:
				if _, err := s.RevokeAccessToken(ctx, id, ""); err != nil {
					t.Fatal(err)
				}
			}
			token := fmt.Sprintf("session %d %d", i, j)
			expires := now.Add(time.Hour)
			if j == 2 {
				expires = now.Add(-time.Hour)
			}
			if err := s.CreateRefreshToken(ctx, token, metadata.RefreshToken{Account: name, ExpiresAt: expires}); err != nil {
				t.Fatal(err)
			}
			switch j {
			case 0:
				wantSessions = append(wantSessions, metadata.RefreshTokenID(token))
			case 1:
				if _, err := s.RevokeRefreshToken(ctx, metadata.RefreshTokenID(token), now); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	slices.Sort(wantSessions)
	for _, team := range []string{"red", "blue"} {
		if err := s.CreateTeam(ctx, team); err != nil {
			t.Fatal(err)
		}
	}
	// u04 (the last of the first page of 5) and u05 (the first of the
	// second) are in teams: each page must give each its own.
	for _, m := range [][2]string{{"red", "u04"}, {"blue", "u05"}, {"red", "u05"}} {
		if err := s.AddTeamMember(ctx, m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}

	teams := map[string][]string{}
	gotUsers := pages(t, 5, func(after string, n int) ([]metadata.User, error) { return s.ListUsersAfter(ctx, after, n) },
		func(u metadata.User) string { teams[u.Name] = u.Teams; return u.Name })
	if !slices.Equal(gotUsers, wantUsers) {
		t.Errorf("users page by page: %v, want %v", gotUsers, wantUsers)
	}
	for name, want := range map[string][]string{"u03": nil, "u04": {"red"}, "u05": {"blue", "red"}, "u06": nil} {
		if !slices.Equal(teams[name], want) {
			t.Errorf("%s's teams: %v, want %v", name, teams[name], want)
		}
	}
	gotTokens := pages(t, 5, func(after string, n int) ([]metadata.AccessToken, error) {
		return s.ListActiveAccessTokens(ctx, "", after, n, now)
	}, func(t metadata.AccessToken) string { return t.ID })
	if !slices.Equal(gotTokens, wantTokens) {
		t.Errorf("active tokens page by page: %v, want %v", gotTokens, wantTokens)
	}
	if mine, err := s.ListActiveAccessTokens(ctx, "u07", "", 0, now); err != nil || len(mine) != 1 || mine[0].ID != "t070" {
		t.Errorf("u07's active tokens: %+v, %v", mine, err)
	}
	gotSessions := pages(t, 5, func(after string, n int) ([]metadata.RefreshToken, error) {
		return s.ListRefreshTokensAfter(ctx, after, n, now)
	}, func(rt metadata.RefreshToken) string { return rt.ID })
	if !slices.Equal(gotSessions, wantSessions) {
		t.Errorf("live sessions page by page: %v, want %v", gotSessions, wantSessions)
	}
	// After a key that is gone, the page starts at the next that is not.
	if page, err := s.ListUsersAfter(ctx, "u045", 2); err != nil || len(page) != 2 || page[0].Name != "u05" {
		t.Errorf("after a name that is gone: %+v, %v", page, err)
	}
}
