package config

import "fmt"

// Limits bound what one client can make the server do: how many password
// checks, external authorizer calls and uploads run at once, how long a
// request body may take to arrive, and how long a list may be. Zero values
// take the defaults, which suit one machine; docs/security.md lists them.
type Limits struct {
	// ListPage is the most entries in one page of GET /v2/<name>/tags/list
	// and GET /v2/_catalog (0: 1000). A request without n gets this many,
	// a larger n is lowered to it; the Link header leads to the rest.
	ListPage int `yaml:"list_page"`
	// ReferrersPage is the most descriptors in one page of GET
	// /v2/<name>/referrers/<digest> (0: 500); a page also stops before
	// 4 MiB. The Link header leads to the rest.
	ReferrersPage int `yaml:"referrers_page"`
}

// maxPageLimit bounds the list limits: a page of 100,000 entries is already
// megabytes of JSON built in memory for one request.
const maxPageLimit = 100_000

// validateLists reports the list limits' problems.
func (l Limits) validateLists() []error {
	var errs []error
	for _, f := range []struct {
		key string
		v   int
	}{{"limits.list_page", l.ListPage}, {"limits.referrers_page", l.ReferrersPage}} {
		if f.v < 0 || f.v > maxPageLimit {
			errs = append(errs, fmt.Errorf("%s: %d is out of range; give 1 to %d entries per page, or 0 for the default", f.key, f.v, maxPageLimit))
		}
	}
	return errs
}
