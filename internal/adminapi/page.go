package adminapi

import (
	"net/http"
	"net/url"
	"strconv"
)

// Lists are paginated as the registry's catalog is: ?n= is the page size
// (default defaultPage, at most maxPage) and ?last= the key of the last
// item of the previous page (a name, a token id, or a rule position). The
// answer holds "next", the URL of the next page, also sent as
// Link: <…>; rel="next", when there is one.
const (
	defaultPage = 100
	maxPage     = 1000
)

type page struct {
	n       int
	last    string
	hasLast bool
}

func parsePage(r *http.Request) (page, error) {
	q := r.URL.Query()
	p := page{n: defaultPage, last: q.Get("last"), hasLast: q.Has("last")}
	if s := q.Get("n"); s != "" || q.Has("n") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage {
			return p, invalid("n", "n %q: want a page size from 1 to %d", s, maxPage)
		}
		p.n = n
	}
	return p, nil
}

// slice returns the items after the cursor (after(item) says whether an
// item comes after it) and, when more remain, the key to continue from.
func slice[T any](items []T, p page, after func(T) bool, key func(T) string) ([]T, string) {
	start := 0
	if p.hasLast {
		start = len(items)
		for i, it := range items {
			if after(it) {
				start = i
				break
			}
		}
	}
	items = items[start:]
	if len(items) <= p.n {
		return items, ""
	}
	return items[:p.n], key(items[p.n-1])
}

// nextLink sets the Link header for the page after lastKey and returns its
// URL ("" when there is none). Other query parameters (filters) are kept.
func nextLink(w http.ResponseWriter, r *http.Request, p page, lastKey string) string {
	if lastKey == "" {
		return ""
	}
	q := r.URL.Query()
	q.Set("n", strconv.Itoa(p.n))
	q.Set("last", lastKey)
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	w.Header().Set("Link", "<"+u.String()+`>; rel="next"`)
	return u.String()
}
