package mongo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/authz/authztest"
	"wharf/internal/auth/mongo"
	"wharf/internal/testserver"
)

func req(account, name string, labels auth.Labels, actions ...string) auth.Request {
	return auth.Request{Identity: auth.Identity{Account: account, Labels: labels},
		Access: auth.Access{Type: "repository", Name: name, Actions: actions}}
}

// reference is docker_auth's reference ACL as documents, inserted out of
// order: seq decides.
func reference() []any {
	return []any{
		bson.M{"seq": 50, "match": bson.M{"account": "/.+/", "name": "${account}/*"}, "actions": bson.A{"*"}, "comment": "own namespace"},
		bson.M{"seq": 10, "match": bson.M{"account": "admin"}, "actions": bson.A{"*"}, "comment": "Admin has full access to everything."},
		bson.M{"seq": int64(30), "match": bson.M{"account": "test"}, "actions": bson.A{}, "comment": "test: nothing else"},
		bson.M{"seq": 20, "match": bson.M{"account": "test", "name": "test-*"}, "actions": bson.A{"*"}},
		bson.M{"seq": 25, "match": bson.M{"account": "/.+/", "labels": bson.M{"group": "ops"}}, "actions": bson.A{"pull", "push"}},
		bson.M{"seq": 40.0, "match": bson.M{"account": "/.+/"}, "actions": bson.A{"pull"}},
		bson.M{"seq": 60, "match": bson.M{"account": "", "name": "hello-world"}, "actions": bson.A{"pull"}},
	}
}

func TestRules(t *testing.T) {
	f := testserver.StartFerretDB(t)
	f.Insert(t, "acl", reference()...)
	c := connect(t, f, 5*time.Second)
	a, err := mongo.NewACL(t.Context(), c, "acl", time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		req  auth.Request
		want []string
		err  error
	}{
		{"admin", req("admin", "anything", nil, "pull", "push"), []string{"pull", "push"}, nil},
		{"test in test-*", req("test", "test-app", nil, "push"), []string{"push"}, nil},
		{"test elsewhere: deny rule", req("test", "other", nil, "pull"), []string{}, nil},
		{"label rule before the pull rule", req("carol", "team/app", auth.Labels{"group": {"ops"}}, "push"), []string{"push"}, nil},
		{"logged in: pull only", req("dave", "team/app", nil, "pull", "push"), []string{"pull"}, nil},
		{"pull rule comes before the namespace rule", req("dave", "dave/app", nil, "push"), []string{}, nil},
		{"anonymous hello-world", req("", "hello-world", nil, "pull"), []string{"pull"}, nil},
		{"anonymous elsewhere", req("", "private", nil, "pull"), nil, authz.ErrNoMatch},
	} {
		got, err := a.Authorize(ctx, tc.req)
		if !errors.Is(err, tc.err) || !slices.Equal(got, tc.want) || (tc.want != nil && got == nil) {
			t.Errorf("%s: %v, %v; want %v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}

	// A change is read at the next reload.
	f.Replace(t, "acl", bson.M{"seq": 1, "match": bson.M{"account": "dave"}, "actions": bson.A{"*"}})
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Authorize(ctx, req("dave", "team/app", nil, "push")); err != nil || !slices.Equal(got, []string{"push"}) {
		t.Errorf("dave after the change: %v, %v", got, err)
	}
	if _, err := a.Authorize(ctx, req("admin", "x", nil, "pull")); !errors.Is(err, authz.ErrNoMatch) {
		t.Errorf("admin after the change: %v; want no match", err)
	}

	// A bad document makes the reload fail and keeps the rules in force.
	f.Insert(t, "acl", bson.M{"seq": 2, "match": bson.M{"acount": "eve"}, "actions": bson.A{"*"}})
	if err := a.Reload(ctx); err == nil || !strings.Contains(err.Error(), "acount") {
		t.Errorf("reload with a misspelt key: %v; want an error naming it", err)
	}
	if got, err := a.Authorize(ctx, req("eve", "x", nil, "push")); !errors.Is(err, authz.ErrNoMatch) {
		t.Errorf("eve after a failed reload: %v, %v; the bad rule must not apply", got, err)
	}

	// The server gone: the reload fails with an error.
	f.Stop(t)
	if err := a.Reload(ctx); err == nil {
		t.Error("reload with the server stopped: no error")
	}
}

// TestRulesBackgroundReload: with a short cache_ttl, a change applies without
// a restart.
func TestRulesBackgroundReload(t *testing.T) {
	f := testserver.StartFerretDB(t)
	f.Insert(t, "acl", bson.M{"seq": 1, "match": bson.M{"account": "alice"}, "actions": bson.A{"pull"}})
	a, err := mongo.NewACL(t.Context(), connect(t, f, 5*time.Second), "acl", time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f.Replace(t, "acl", bson.M{"seq": 1, "match": bson.M{"account": "alice"}, "actions": bson.A{"*"}})
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := a.Authorize(context.Background(), req("alice", "x", nil, "push"))
		if err == nil && slices.Equal(got, []string{"push"}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change was never loaded: %v, %v", got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRulesLoadErrors(t *testing.T) {
	f := testserver.StartFerretDB(t)
	c := connect(t, f, 5*time.Second)
	for _, tc := range []struct {
		name string
		docs []any
		want string
	}{
		{"no seq", []any{bson.M{"match": bson.M{}, "actions": bson.A{}}}, "no seq"},
		{"docs say sequence", []any{bson.M{"sequence": 10, "match": bson.M{}, "actions": bson.A{}}}, "docker_auth reads seq"},
		{"repeated seq", []any{bson.M{"seq": 1, "match": bson.M{}, "actions": bson.A{}}, bson.M{"seq": 1, "match": bson.M{}, "actions": bson.A{}}}, "seq 1"},
		{"fractional seq", []any{bson.M{"seq": 1.5, "match": bson.M{}, "actions": bson.A{}}}, "not a whole number"},
		{"string seq", []any{bson.M{"seq": "1", "match": bson.M{}, "actions": bson.A{}}}, "not a whole number"},
		{"bad regex", []any{bson.M{"seq": 1, "match": bson.M{"name": "/(/"}, "actions": bson.A{}}}, "_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			coll := strings.ReplaceAll(tc.name, " ", "_")
			f.Insert(t, coll, tc.docs...)
			_, err := mongo.NewACL(t.Context(), c, coll, time.Hour, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want one containing %q", err, tc.want)
			}
		})
	}
	// An empty (or missing) collection is an empty ACL: deny all.
	a, err := mongo.NewACL(t.Context(), c, "empty", time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Authorize(context.Background(), req("admin", "x", nil, "pull")); !errors.Is(err, authz.ErrNoMatch) {
		t.Errorf("empty collection: %v; want no match", err)
	}
}

// docker_auth's ACL documents keep the authorizers' contract.
func TestRulesConformance(t *testing.T) {
	f := testserver.StartFerretDB(t)
	c := connect(t, f, 5*time.Second)
	var n int
	authztest.Run(t, authztest.Contract{Unmatched: authz.ErrNoMatch}, func(t *testing.T) authz.Authorizer {
		n++
		collection := fmt.Sprintf("acl%d", n)
		var docs []any
		for i, e := range authztest.Entries(t) {
			doc := bson.M{"seq": (i + 1) * 10}
			for k, v := range e {
				doc[k] = v
			}
			docs = append(docs, doc)
		}
		f.Insert(t, collection, docs...)
		a, err := mongo.NewACL(t.Context(), c, collection, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	})
}
