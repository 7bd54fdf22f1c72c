package static_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/authntest"
	"wharf/internal/auth/authn/static"
)

func newStatic(opts static.Options) authntest.NewFunc {
	return func(t *testing.T, f authntest.Fixture) authn.Authenticator {
		users := map[string]static.User{}
		for _, u := range f.Users {
			users[u.Name] = static.User{Password: auth.Secret(u.Hash), Labels: u.Labels}
		}
		if f.Anonymous {
			users[""] = static.User{Labels: f.AnonymousLabels}
		}
		a, err := static.NewWithOptions(users, opts)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
}

func TestConformance(t *testing.T) {
	for _, opts := range []static.Options{{}, {SkipDummy: true}} {
		t.Run(fmt.Sprintf("%+v", opts), func(t *testing.T) {
			authntest.Run(t, authntest.Contract{UnknownUser: authn.NoMatch, Labels: true, Anonymous: true, Confirms: true}, newStatic(opts))
		})
	}
}

// Not parallel: it fills the process's password gate.
func TestFullPasswordGate(t *testing.T) {
	authntest.RunFullGate(t, newStatic(static.Options{}))
}

// Hashes made by Apache's `htpasswd -nbB` (Debian apache2-utils): the $2y$
// variant docker_auth's documentation tells users to generate.
const (
	aliceHash = "$2y$05$RvbeaaM9yqWY3LKIXO7Unu/BoFtmKwBrGhcB4HUTsUbNO2bWBUV7e" // s3cret:pw
	bobHash   = "$2y$04$3c4xCD3Q0KakK9sVlYXWC.m9il3piE66QrmdE0eTEU1HytdFG/XUG" // hunter2
)

func parseUsers(t *testing.T, doc string) (map[string]static.User, error) {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	return static.ParseUsers(&n)
}

func TestDockerAuthUsers(t *testing.T) {
	t.Parallel()
	users, err := parseUsers(t, `
"alice":
  password: "`+aliceHash+`"
  labels: {group: [dev, web], project: [api]}
"bob":
  password: "`+bobHash+`"
"": {}
`)
	if err != nil {
		t.Fatal(err)
	}
	a, err := static.New(users)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		user, password string
		want           authn.Result
		labels         auth.Labels
	}{
		{"alice", "s3cret:pw", authn.Accepted, auth.Labels{"group": {"dev", "web"}, "project": {"api"}}},
		{"alice", "s3cret", authn.WrongPassword, nil},
		{"bob", "hunter2", authn.Accepted, nil},
		{"bob", "s3cret:pw", authn.WrongPassword, nil},
		{"carol", "hunter2", authn.NoMatch, nil},
		{"", "", authn.Accepted, nil},
		{"", "anything", authn.Accepted, nil}, // docker_auth ignores it too
	}
	for _, tc := range cases {
		t.Run(tc.user+"/"+tc.password, func(t *testing.T) {
			t.Parallel()
			res, labels, err := a.Authenticate(ctx, tc.user, auth.Secret(tc.password))
			if err != nil || res != tc.want {
				t.Fatalf("%v, %v; want %v", res, err, tc.want)
			}
			if authn.TakeStamp(labels); len(labels) == 0 {
				labels = nil
			}
			if diff := cmp.Diff(tc.labels, labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBcryptVariants(t *testing.T) {
	t.Parallel()
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		t.Run(prefix, func(t *testing.T) {
			t.Parallel()
			a, err := static.New(map[string]static.User{"u": {Password: auth.Secret(prefix + string(h[4:]))}})
			if err != nil {
				t.Fatal(err)
			}
			if res, _, err := a.Authenticate(context.Background(), "u", "pw"); res != authn.Accepted || err != nil {
				t.Errorf("%v, %v", res, err)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		users map[string]static.User
		want  []string
	}{
		{"plain text", map[string]static.User{"bob": {Password: "hunter2"}},
			[]string{`user "bob"`, "plain-text password", "htpasswd -nB USER"}},
		{"apr1", map[string]static.User{"bob": {Password: "$apr1$wnnc.VS3$jPQ.v/.ZKZTyV3Yj6/y.M/"}},
			[]string{"Apache MD5 ($apr1$)", "only bcrypt"}},
		{"sha512-crypt", map[string]static.User{"bob": {Password: "$6$rRu0ctudfVAeh1xs$sjlMx9iLGgUn9hgM0j"}},
			[]string{"SHA-512-crypt"}},
		{"$2x$", map[string]static.User{"bob": {Password: auth.Secret("$2x$" + aliceHash[4:])}},
			[]string{"unknown bcrypt variant"}},
		{"truncated bcrypt", map[string]static.User{"bob": {Password: auth.Secret(aliceHash[:40])}},
			[]string{"malformed bcrypt hash"}},
		{"named user without password", map[string]static.User{"bob": {}},
			[]string{`user "bob" has no password`, `only the anonymous user "" may omit it`}},
		{"anonymous with password", map[string]static.User{"": {Password: aliceHash}},
			[]string{`anonymous user "" has no password`}},
		{"every bad user", map[string]static.User{"a": {}, "b": {Password: "not-a-hash-42"}},
			[]string{`user "a"`, `user "b"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := static.New(tc.users)
			if err == nil {
				t.Fatal("New succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, u := range tc.users {
				if u.Password != "" && strings.Contains(err.Error(), u.Password.Reveal()) {
					t.Errorf("error %q reveals the password", err)
				}
			}
		})
	}
}

func TestParseUsersErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		doc  string
		want []string
	}{
		{"unknown key", "bob:\n  pasword: \"" + bobHash + "\"", []string{"line 2", `unknown key "pasword"`, `did you mean "password"?`, "valid keys: password, labels"}},
		{"plain text", "bob:\n  password: hunter2", []string{"line 2", `user "bob"`, "plain-text password", "htpasswd -nB USER"}},
		{"no password", "bob: {}", []string{"line 1", `user "bob" has no password`}},
		{"no password, null", "bob:", []string{`user "bob" has no password`}},
		{"password list", "bob: {password: [a]}", []string{"password must be a bcrypt hash string"}},
		{"labels scalar", "bob: {password: \"" + bobHash + "\", labels: {group: admins}}", []string{`label "group" must be a list of strings, e.g. group: [admins]`}},
		{"labels list", "bob: {password: \"" + bobHash + "\", labels: [admins]}", []string{"labels must be a mapping"}},
		{"label value map", "bob: {password: \"" + bobHash + "\", labels: {g: [{a: b}]}}", []string{"values must be strings"}},
		{"repeated user", "bob: {password: \"" + bobHash + "\"}\nbob: {password: \"" + bobHash + "\"}", []string{"line 2", `user "bob" repeated (first at line 1)`}},
		{"not a map", "- bob", []string{"users must be a mapping"}},
		{"all at once", "a: {}\nb: {passwd: x}", []string{"line 1", "line 2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseUsers(t, tc.doc)
			if err == nil {
				t.Fatal("ParseUsers succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q reveals a password", err)
			}
		})
	}
}

func TestParseUsersEmptyAndAnchors(t *testing.T) {
	t.Parallel()
	users, err := parseUsers(t, "")
	if err != nil || len(users) != 0 {
		t.Fatalf("%v, %v", users, err)
	}
	users, err = parseUsers(t, `
"a": &common {password: "`+bobHash+`", labels: {group: [x, x, y]}}
"b": *common
"": ~
`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]static.User{
		"a": {Password: bobHash, Labels: auth.Labels{"group": {"x", "y"}}},
		"b": {Password: bobHash, Labels: auth.Labels{"group": {"x", "y"}}},
		"":  {},
	}
	if diff := cmp.Diff(want, users); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A config embedding the map gets strict decoding through UnmarshalYAML.
func TestUnmarshalYAML(t *testing.T) {
	t.Parallel()
	var cfg struct {
		Users map[string]static.User `yaml:"users"`
	}
	err := yaml.Unmarshal([]byte("users:\n  bob:\n    pasword: x\n  carol:\n    password: plain\n"), &cfg)
	if err == nil || !strings.Contains(err.Error(), `line 3: unknown key "pasword" in user (did you mean "password"?)`) || !strings.Contains(err.Error(), "line 5:") {
		t.Fatalf("error = %v", err)
	}
}

// The password type hides its value from fmt and logs.
func TestUserPrintsNoPassword(t *testing.T) {
	t.Parallel()
	u := static.User{Password: bobHash}
	for _, s := range []string{fmt.Sprintf("%v", u), fmt.Sprintf("%+v", u), fmt.Sprintf("%#v", u)} {
		if strings.Contains(s, bobHash) {
			t.Errorf("%s reveals the hash", s)
		}
	}
}
