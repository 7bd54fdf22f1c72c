package edge

import (
	"net/http"
	"slices"
	"strings"

	"wharf/internal/errcode"
)

// probeMethods are the methods NoRoute tries on a path to tell a 405 from a
// 404.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// NoRoute answers what no other pattern of mux matches, mounted as its "/"
// pattern: 405 UNSUPPORTED with an Allow header when the path is served
// with other methods, else 404 NOT_FOUND, in the OCI format. (With a "/"
// pattern the mux never answers 405 itself, as "/" matches every method.)
func NoRoute(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allowed := Allowed(mux, r, probeMethods, "/"); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			errcode.WriteOCI(w, r, errcode.Errorf(errcode.Unsupported, "method %s is not allowed here; use %s", r.Method, strings.Join(allowed, ", ")))
			return
		}
		errcode.WriteOCI(w, r, errcode.New(errcode.NotFound, "no such endpoint: "+r.URL.Path))
	})
}

// Allowed lists which of methods mux routes r's path to a pattern other
// than fallback (the catch-all that called it): the methods to name in a
// 405's Allow header, none for a 404.
func Allowed(mux *http.ServeMux, r *http.Request, methods []string, fallback string) []string {
	var allowed []string
	for _, m := range methods {
		if m == r.Method || slices.Contains(allowed, m) {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != fallback {
			allowed = append(allowed, m)
		}
	}
	return allowed
}
