package metrics

// Token request outcomes, the label values of wharf_token_requests_total.
var tokenOutcomes = []string{"issued", "scope_denied", "login_failed", "rate_limited", "busy", "backend_error", "invalid_request"}

// TokenOutcome counts a token request's outcome (tokenserver's Outcome
// values); a value outside the list counts as "other", so that the label
// stays bounded whatever a caller passes.
func (m *Metrics) TokenOutcome(outcome string) {
	if m == nil {
		return
	}
	for _, o := range tokenOutcomes {
		if o == outcome {
			m.tokens.WithLabelValues(o).Inc()
			return
		}
	}
	m.tokens.WithLabelValues("other").Inc()
}
