package authstack

import (
	"fmt"

	"wharf/internal/config"
	"wharf/internal/quota"
)

// QuotaRules translates quotas: for the quota engine, which reads no
// configuration; the server enforces them and `wharf repo ls` shows them.
func QuotaRules(cfg config.Config) ([]quota.Rule, error) {
	var rules []quota.Rule
	for i, q := range cfg.Quotas {
		match, err := q.Matcher()
		if err != nil { // Validate refuses it first
			return nil, fmt.Errorf("authstack: quotas[%d].%w", i, err)
		}
		rules = append(rules, quota.Rule{Pattern: q.Repositories, Bytes: int64(q.Bytes), Match: match})
	}
	return rules, nil
}
