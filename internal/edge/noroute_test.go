package edge_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"wharf/internal/edge"
)

// TestNoRoute: what no pattern serves is 404 NOT_FOUND, a path served
// with other methods 405 UNSUPPORTED naming them, both in the OCI format.
func TestNoRoute(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("POST /auth/token", func(http.ResponseWriter, *http.Request) {})
	mux.Handle("/", edge.NoRoute(mux))
	tests := []struct {
		method, path string
		status       int
		allow, body  string
	}{
		{"GET", "/nope", 404, "", `{"errors":[{"code":"NOT_FOUND","message":"no such endpoint: /nope"}]}` + "\n"},
		{"POST", "/healthz", 405, "GET, HEAD", `{"errors":[{"code":"UNSUPPORTED","message":"method POST is not allowed here; use GET, HEAD"}]}` + "\n"},
		{"DELETE", "/auth/token", 405, "POST", `{"errors":[{"code":"UNSUPPORTED","message":"method DELETE is not allowed here; use POST"}]}` + "\n"},
		{"GET", "/healthz", 200, "", ""},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status || rec.Header().Get("Allow") != tc.allow || rec.Body.String() != tc.body {
			t.Errorf("%s %s: %d Allow %q %q; want %d %q %q", tc.method, tc.path, rec.Code, rec.Header().Get("Allow"), rec.Body,
				tc.status, tc.allow, tc.body)
		}
	}
}
