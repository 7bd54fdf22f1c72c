package harness

import (
	"fmt"
	"strings"
)

// LogLine is one line of wharf's text log (log/slog's key=value format),
// key by key; a repeated key keeps its last value.
type LogLine map[string]string

// ParseLog splits a text log into lines and their attributes. Quoted
// values are unquoted; a line that is not key=value pairs (a panic's
// stack, say) gives what parsed before the first bad token.
func ParseLog(log string) []LogLine {
	var out []LogLine
	for _, raw := range strings.Split(log, "\n") {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		out = append(out, parseLogLine(raw))
	}
	return out
}

func parseLogLine(s string) LogLine {
	l := LogLine{}
	for {
		s = strings.TrimLeft(s, " ")
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || strings.ContainsAny(s[:eq], " \"") {
			return l
		}
		key, rest := s[:eq], s[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
			}
			val, s = b.String(), rest[min(i+1, len(rest)):]
		} else {
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			val, s = rest[:end], rest[end:]
		}
		l[key] = val
	}
}

// backgroundMessages are WARN and ERROR lines wharf writes outside any
// request (timers, certificate renewal): they have no request id to carry.
var backgroundMessages = []string{
	"purging stale uploads failed",
	"purging ended sessions failed",
	"renewing the server certificate failed",
	"reloading the TLS certificate failed",
	"reloading the ACL failed",
}

// RequestIDProblems checks a server log for warnings and errors written
// while serving requests without the request's id. Every WARN and ERROR
// line after the server started serving must carry a request_id that an
// access line ("request") of the same log also carries, unless it is one
// of the few messages written outside requests. It returns how many lines
// passed with an id and a description of each that did not.
func RequestIDProblems(log string) (withID int, problems []string) {
	lines := ParseLog(log)
	requests := map[string]bool{}
	for _, l := range lines {
		if l["msg"] == "request" && l["request_id"] != "" {
			requests[l["request_id"]] = true
		}
	}
	serving := false
	for _, l := range lines {
		if l["msg"] == "wharf is serving" {
			serving = true
			continue
		}
		if !serving || (l["level"] != "WARN" && l["level"] != "ERROR") {
			continue
		}
		id := l["request_id"]
		switch {
		case id != "" && requests[id]:
			withID++
		case id != "":
			problems = append(problems, fmt.Sprintf("%s %q has request_id %s, which no access line has", l["level"], l["msg"], id))
		case !isBackground(l["msg"]):
			problems = append(problems, fmt.Sprintf("%s %q has no request_id", l["level"], l["msg"]))
		}
	}
	return withID, problems
}

func isBackground(msg string) bool {
	for _, m := range backgroundMessages {
		if strings.HasPrefix(msg, m) {
			return true
		}
	}
	return false
}
