package doctor

import (
	"regexp"
	"strings"
)

// Refused is a configuration a server command refuses to start with, as
// resolution found it: every problem is a failed check of its own, next
// to the doctor's other checks, and the checks that need the
// configuration skip it.
type Refused struct {
	// What names the configuration in the report: "config wharf.yml".
	What string
	// File is the configuration file ("" when there is none): problems
	// that begin with it are shown without it, What names it already.
	File string
	// Command is the server command that refuses it: "wharf serve".
	Command string
	// Problems are the problems, one each (resolve.Problems).
	Problems []error
}

// didYouMean finds a closest-key hint in a problem: `(did you mean addr?)`
// or `(did you mean "account"?)`.
var didYouMean = regexp.MustCompile(`did you mean "?([^"?)]+)"?\?`)

// unknownVariable is a distribution variable naming an unknown key:
// `REGISTRY_HTTP_ADRR: unknown key http.adrr`.
var unknownVariable = regexp.MustCompile(`(REGISTRY_[A-Z0-9_]+): unknown key ([A-Za-z0-9_.]+)`)

// renamedVariable is the variable a typo in msg's variable meant, when
// msg is about one: REGISTRY_HTTP_ADDR for REGISTRY_HTTP_ADRR and "addr".
func renamedVariable(msg, meant string) (string, bool) {
	m := unknownVariable.FindStringSubmatch(msg)
	if m == nil {
		return "", false
	}
	key := m[2][strings.LastIndex(m[2], ".")+1:]
	suffix := "_" + strings.ToUpper(key)
	if !strings.HasSuffix(m[1], suffix) {
		return "", false
	}
	return strings.TrimSuffix(m[1], suffix) + "_" + strings.ToUpper(meant), true
}

// checkRefused reports the problems of the configurations the servers
// would refuse.
func checkRefused(r *Report, s Setup) {
	for _, ref := range s.Refused {
		for _, p := range ref.Problems {
			msg := p.Error()
			if ref.File != "" {
				msg = strings.TrimPrefix(msg, ref.File+": ")
			}
			r.Fail(ref.What, msg, refusedFix(ref.Command, msg))
		}
	}
}

// refusedFix is the fix of one problem: the key a typo meant, or what the
// message itself says to do.
func refusedFix(command, msg string) string {
	if m := didYouMean.FindStringSubmatch(msg); m != nil {
		if v, ok := renamedVariable(msg, m[1]); ok {
			return "rename the variable to " + v + ": " + command + " refuses unknown keys, from variables too, so that a typo never changes what is allowed"
		}
		return "rename the key to " + m[1] + ": " + command + " refuses unknown keys, so that a typo never changes what is allowed"
	}
	if strings.Contains(msg, "unknown key") {
		return "remove the key or correct its name: " + command + " refuses unknown keys, so that a typo never changes what is allowed"
	}
	return "correct it as the message says: " + command + " refuses to start until then"
}
