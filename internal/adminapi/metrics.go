package adminapi

import (
	"net/http"

	"wharf/internal/auth"
)

// The scope a Prometheus scraper must hold to read /metrics on the main
// listener: type admin, so that the built-in default (admin "*" on
// everything) grants it to administrators, while a scrape account gets
// it, and nothing else, from one ACL rule. The action is pull, reading,
// one the ACL's rules already know.
const (
	MetricsScopeType   = "admin"
	MetricsScopeName   = "metrics"
	MetricsScopeAction = "pull"
)

// MetricsScope is the scope string a scraper's token asks for.
var MetricsScope = auth.Access{Type: MetricsScopeType, Name: MetricsScopeName, Actions: []string{MetricsScopeAction}}.String()

var metricsRequirement = requirement{
	access: auth.Access{Type: MetricsScopeType, Name: MetricsScopeName, Actions: []string{MetricsScopeAction}},
	what:   "/metrics", logAs: "metrics",
}

// Metrics guards next (the Prometheus handler) as the admin API guards its
// routes, with the metrics scope: a bearer token of this server's token
// endpoint that grants it, or Basic credentials (a password or an access
// token) whose account the ACL grants it. Logins count against the same
// limiter as docker login's.
func (a *API) Metrics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := a.authenticate(r, metricsRequirement); err != nil {
			a.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
