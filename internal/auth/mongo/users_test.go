package mongo_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/authntest"
	"wharf/internal/auth/mongo"
	"wharf/internal/testserver"
)

// connect logs in to f as its test user; timeout bounds every operation.
func connect(t *testing.T, f *testserver.FerretDB, timeout time.Duration) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(t.Context(), mongo.Config{Addrs: []string{f.Addr}, Database: f.Database,
		Username: f.Username, Password: auth.Secret(f.Password()), Source: f.Database, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestUsersConformance runs the authenticator suite against users stored in
// docker_auth's document shape on a real MongoDB-wire server.
func TestUsersConformance(t *testing.T) {
	f := testserver.StartFerretDB(t)
	var n atomic.Int32
	authntest.Run(t, authntest.Contract{UnknownUser: authn.NoMatch, Labels: true, Anonymous: true, Confirms: true},
		func(t *testing.T, fx authntest.Fixture) authn.Authenticator {
			coll := fmt.Sprintf("users%d", n.Add(1))
			var docs []any
			for _, u := range fx.Users {
				doc := bson.M{"username": u.Name, "password": u.Hash}
				if u.Labels != nil {
					doc["labels"] = map[string][]string(u.Labels)
				}
				docs = append(docs, doc)
			}
			if fx.Anonymous {
				docs = append(docs, bson.M{"username": "", "labels": map[string][]string(fx.AnonymousLabels)})
			}
			f.Insert(t, coll, docs...)
			a, err := mongo.NewAuthenticator(t.Context(), connect(t, f, 10*time.Second), coll, nil)
			if err != nil {
				t.Fatal(err)
			}
			return a
		})
}

// TestUserDocuments covers what the suite does not: odd documents, duplicates,
// a named user without password, and a server that is gone.
func TestUserDocuments(t *testing.T) {
	f := testserver.StartFerretDB(t)
	h, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	hash := string(h)
	f.Insert(t, "users",
		bson.M{"username": "nopass"},
		bson.M{"username": "twice", "password": hash},
		bson.M{"username": "twice", "password": hash},
		bson.M{"username": "plain", "password": "secret"},
		bson.M{"username": "numeric", "password": 42},
		bson.M{"username": "onelabel", "password": hash, "labels": bson.M{"group": "ops"}},
		bson.M{"username": "badlabel", "password": hash, "labels": bson.M{"group": bson.A{1}}},
		bson.M{"username": "$ne", "password": hash},
	)
	c := connect(t, f, 10*time.Second)
	a, err := mongo.NewAuthenticator(t.Context(), c, "users", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		user, password string
		want           authn.Result
		wantErr        string
		labels         auth.Labels
	}{
		{user: "nopass", password: "anything", want: authn.WrongPassword},
		{user: "nopass", password: "", want: authn.WrongPassword},
		{user: "twice", password: "secret", want: authn.WrongPassword, wantErr: "more than one document"},
		{user: "plain", password: "secret", want: authn.WrongPassword, wantErr: "plain-text password"},
		{user: "numeric", password: "42", want: authn.WrongPassword, wantErr: "not a string"},
		{user: "onelabel", password: "secret", want: authn.Accepted, labels: auth.Labels{"group": {"ops"}}},
		{user: "badlabel", password: "secret", want: authn.WrongPassword, wantErr: "labels.group"},
		{user: "$ne", password: "secret", want: authn.Accepted},
		{user: "", password: "", want: authn.NoMatch},
	} {
		res, labels, err := a.Authenticate(ctx, tc.user, auth.Secret(tc.password))
		if res != tc.want || (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%q: %v, %v; want %v, error containing %q", tc.user, res, err, tc.want, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), tc.password) && tc.password != "" {
			t.Errorf("%q: the error quotes the password: %v", tc.user, err)
		}
		authn.TakeStamp(labels)
		if tc.labels != nil && fmt.Sprint(labels) != fmt.Sprint(tc.labels) {
			t.Errorf("%q: labels %v, want %v", tc.user, labels, tc.labels)
		}
	}

	// A server that is gone is an error, never an admission.
	f.Stop(t)
	res, _, err := a.Authenticate(ctx, "onelabel", "secret")
	if err == nil || res == authn.Accepted {
		t.Fatalf("server stopped: %v, %v; want an error", res, err)
	}
}

// TestConnectErrors: a wrong password or address stops start-up with an
// error that does not quote the password.
func TestConnectErrors(t *testing.T) {
	f := testserver.StartFerretDB(t)
	for _, tc := range []struct {
		name string
		cfg  mongo.Config
	}{
		{"wrong password", mongo.Config{Addrs: []string{f.Addr}, Database: f.Database, Username: f.Username,
			Password: "s3cret-wrong-password", Source: f.Database, Timeout: 5 * time.Second}},
		{"no credentials", mongo.Config{Addrs: []string{f.Addr}, Database: f.Database, Timeout: 5 * time.Second}},
		{"nobody listening", mongo.Config{Addrs: []string{fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))},
			Database: f.Database, Username: "u", Password: "s3cret-wrong-password", Timeout: 2 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := mongo.Connect(t.Context(), tc.cfg)
			if err == nil {
				// No credentials: the ping passes, the first read fails.
				defer c.Close()
				_, err = mongo.NewAuthenticator(t.Context(), c, "users", nil)
			}
			if err == nil {
				t.Fatal("got no error")
			}
			if strings.Contains(err.Error(), "s3cret-wrong-password") {
				t.Errorf("the error quotes the password: %v", err)
			}
		})
	}
}
