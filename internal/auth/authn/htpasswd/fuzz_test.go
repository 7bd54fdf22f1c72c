package htpasswd_test

import (
	"strings"
	"testing"

	"wharf/internal/auth/authn/htpasswd"
)

func FuzzParse(f *testing.F) {
	f.Add(alice + "\n" + bob + "\n")
	f.Add("# c\n\ncarol:$apr1$wnnc.VS3$jPQ.v/.ZKZTyV3Yj6/y.M/\n")
	f.Add(":x\nno colon\n")
	f.Fuzz(func(t *testing.T, content string) {
		users, err := htpasswd.Parse(strings.NewReader(content))
		if err != nil {
			return
		}
		for name := range users {
			if name == "" || strings.Contains(name, ":") {
				t.Fatalf("bad user name %q", name)
			}
		}
	})
}
