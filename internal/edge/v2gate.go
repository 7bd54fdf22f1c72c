package edge

import (
	"net/http"
	"strings"

	"wharf/internal/errcode"
)

// V2Gate applies the classic nginx gateway's rules to the registry API
// (/v2 and below), so that they hold with or without a proxy in front:
// every response carries Docker-Distribution-Api-Version (also a 404, a
// redirect or an error written before the API handler runs), and Docker
// clients too old to speak the v2 protocol get 404.
func V2Gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2" && !strings.HasPrefix(r.URL.Path, "/v2/") {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
		if oldDockerClient(r.UserAgent()) {
			errcode.WriteOCI(w, r, errcode.New(errcode.ClientTooOld, ""))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// oldDockerClient makes the decision of the classic nginx rule
//
//	^(docker\/1\.(3|4|5(?!\.[0-9]-dev))|Go ).*$
//
// written out because Go's regexp has no lookahead: Docker 1.3, 1.4 and 1.5
// (but not the 1.5.x-dev builds, which already speak v2), and "Go "
// followed by anything — the default user agent of Go's HTTP client before
// Go 1.5 ("Go 1.1 package http"), which those Docker versions sent on some
// requests. Today's Go default, "Go-http-client/1.1", has no space and is
// not matched, nor are go-containerregistry, crane or any current Docker.
// The rule is replicated exactly, prefix matches included ("docker/1.30"
// would match, as it does in nginx; no such version exists).
func oldDockerClient(ua string) bool {
	if strings.HasPrefix(ua, "Go ") {
		return true
	}
	rest, ok := strings.CutPrefix(ua, "docker/1.")
	if !ok || rest == "" {
		return false
	}
	switch rest[0] {
	case '3', '4':
		return true
	case '5':
		after := rest[1:]
		devBuild := len(after) >= 6 && after[0] == '.' && '0' <= after[1] && after[1] <= '9' && after[2:6] == "-dev"
		return !devBuild
	}
	return false
}
