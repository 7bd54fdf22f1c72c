package testserver_test

import (
	"os/exec"
	"strings"
	"testing"

	"wharf/internal/testserver"
)

// The directory starts, holds what is added (non-ASCII included), answers
// over ldaps and StartTLS with its CA, and comes back after a stop.
func TestSlapd(t *testing.T) {
	s := testserver.StartSlapd(t)
	s.Add(t, testserver.Entry{DN: "uid=zoë," + testserver.SlapdSuffix, Attrs: []testserver.Attr{
		{"objectClass", "inetOrgPerson"}, {"uid", "zoë"}, {"cn", "Zoë"}, {"sn", "Z"}, {"userPassword", testserver.SSHA("pässwörd")},
	}})
	search := func(t *testing.T, args ...string) string {
		t.Helper()
		cmd := exec.Command("ldapsearch", append([]string{"-x", "-LLL", "-o", "ldif-wrap=no"}, args...)...)
		cmd.Env = []string{"LDAPTLS_CACERT=" + s.CAFile, "LDAPTLS_REQCERT=demand"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ldapsearch %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := search(t, "-H", "ldap://"+s.Addr, "-b", testserver.SlapdSuffix, "(uid=zo\\c3\\ab)", "uid"); !strings.Contains(out, "uid:: em/Dqw==") {
		t.Errorf("non-ASCII entry not found:\n%s", out)
	}
	if out := search(t, "-H", "ldaps://"+s.TLSAddr, "-D", s.ReaderDN, "-y", s.ReaderPasswordFile, "-b", testserver.SlapdSuffix, "(cn=reader)", "cn"); !strings.Contains(out, "cn: reader") {
		t.Errorf("ldaps search as the reader:\n%s", out)
	}
	if out := search(t, "-ZZ", "-H", "ldap://"+s.Addr, "-b", testserver.SlapdSuffix, "(cn=reader)", "userPassword"); strings.Contains(out, "userPassword") {
		t.Errorf("passwords readable anonymously:\n%s", out)
	}
	s.Stop(t)
	s.Start(t)
	if out := search(t, "-H", "ldap://"+s.Addr, "-b", testserver.SlapdSuffix, "(uid=zo\\c3\\ab)", "dn"); !strings.Contains(out, "dn:") {
		t.Errorf("entry lost over a restart:\n%s", out)
	}
}
