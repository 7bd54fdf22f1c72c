package static_test

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"wharf/internal/auth/authn/static"
)

func FuzzParseUsers(f *testing.F) {
	f.Add("alice:\n  password: \"" + aliceHash + "\"\n  labels: {group: [a, b]}\n\"\": {}\n")
	f.Add("bob: {pasword: x}\n")
	f.Add("a: &x {password: \"" + bobHash + "\"}\nb: *x\n")
	f.Fuzz(func(t *testing.T, doc string) {
		var n yaml.Node
		if yaml.Unmarshal([]byte(doc), &n) != nil {
			return
		}
		users, err := static.ParseUsers(&n)
		if err != nil {
			return
		}
		for _, u := range users {
			if cost, _ := bcrypt.Cost([]byte(u.Password.Reveal())); cost > 6 {
				return // valid, but seconds of bcrypt per input
			}
		}
		a, err := static.New(users)
		if err != nil {
			t.Fatalf("ParseUsers accepted what New refuses: %v", err)
		}
		_, _, _ = a.Authenticate(context.Background(), "alice", "pw")
	})
}
