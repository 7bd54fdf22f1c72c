package errcode_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/errcode"
)

// TestWriters fixes the bodies clients read byte for byte: docker,
// containerd and the OCI conformance suite parse the errors array, OAuth2
// clients the token endpoint's error members, and the admin API's OpenAPI
// document describes its error object.
func TestWriters(t *testing.T) {
	t.Parallel()
	get := httptest.NewRequest(http.MethodGet, "/v2/", nil)
	head := httptest.NewRequest(http.MethodHead, "/v2/a/blobs/sha256:00", nil)
	tests := []struct {
		name   string
		write  func(w http.ResponseWriter)
		status int
		header map[string]string
		body   string
	}{
		{
			name:   "OCI, the table's message",
			write:  func(w http.ResponseWriter) { errcode.WriteOCI(w, get, errcode.New(errcode.BlobUnknown, "")) },
			status: 404,
			header: map[string]string{"Content-Type": "application/json", "Retry-After": ""},
			body:   `{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}` + "\n",
		},
		{
			name: "OCI, a challenge and a detail",
			write: func(w http.ResponseWriter) {
				errcode.WriteOCI(w, get, &errcode.Error{Code: errcode.Unauthorized, Message: "authentication required",
					Challenges: []string{`Bearer realm="https://r/auth/token",service="wharf"`},
					Detail:     []map[string]string{{"Type": "repository", "Name": "a", "Action": "pull"}}})
			},
			status: 401,
			header: map[string]string{"WWW-Authenticate": `Bearer realm="https://r/auth/token",service="wharf"`},
			body:   `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Action":"pull","Name":"a","Type":"repository"}]}]}` + "\n",
		},
		{
			name: "OCI, a 503 always says when to retry",
			write: func(w http.ResponseWriter) {
				errcode.WriteOCI(w, get, errcode.New(errcode.Unavailable, "metadata database unavailable"))
			},
			status: 503,
			header: map[string]string{"Retry-After": "1"},
			body:   `{"errors":[{"code":"UNAVAILABLE","message":"metadata database unavailable"}]}` + "\n",
		},
		{
			name: "OCI, 429 with its own Retry-After",
			write: func(w http.ResponseWriter) {
				errcode.WriteOCI(w, get, &errcode.Error{Code: errcode.TooManyRequests, Message: "slow down", RetryAfter: 2})
			},
			status: 429,
			header: map[string]string{"Retry-After": "2"},
			body:   `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}` + "\n",
		},
		{
			name: "OCI, HEAD: no body, and no header of the success it is not",
			write: func(w http.ResponseWriter) {
				w.Header().Set("Content-Length", "123")
				w.Header().Set("Docker-Content-Digest", "sha256:00")
				errcode.WriteOCI(w, head, errcode.New(errcode.BlobUnknown, ""))
			},
			status: 404,
			header: map[string]string{"Content-Length": "", "Docker-Content-Digest": ""},
			body:   "",
		},
		{
			name: "token server, a failed login",
			write: func(w http.ResponseWriter) {
				errcode.WriteToken(w, &errcode.Error{Code: errcode.Unauthorized, Message: "incorrect username or password",
					Challenges: []string{`Basic realm="wharf"`}})
			},
			status: 401,
			header: map[string]string{"WWW-Authenticate": `Basic realm="wharf"`, "Content-Type": "application/json"},
			body: `{"errors":[{"code":"UNAUTHORIZED","message":"incorrect username or password"}],"details":"incorrect username or password",` +
				`"error":"invalid_grant","error_description":"incorrect username or password"}` + "\n",
		},
		{
			name: "token server, a bad request",
			write: func(w http.ResponseWriter) {
				errcode.WriteToken(w, errcode.New(errcode.TokenRequestInvalid, "the service parameter is required"))
			},
			status: 400,
			body: `{"errors":[{"code":"UNSUPPORTED","message":"the service parameter is required"}],"details":"the service parameter is required",` +
				`"error":"invalid_request","error_description":"the service parameter is required"}` + "\n",
		},
		{
			name: "token server, a backend down",
			write: func(w http.ResponseWriter) {
				errcode.WriteToken(w, &errcode.Error{Code: errcode.Unavailable, Message: "retry later", RetryAfter: 5})
			},
			status: 503,
			header: map[string]string{"Retry-After": "5"},
			body:   `{"errors":[{"code":"UNAVAILABLE","message":"retry later"}],"details":"retry later","error":"temporarily_unavailable","error_description":"retry later"}` + "\n",
		},
		{
			name:   "token server, a failure of ours",
			write:  func(w http.ResponseWriter) { errcode.WriteToken(w, errcode.New(errcode.Unknown, "signing failed")) },
			status: 500,
			body:   `{"errors":[{"code":"UNKNOWN","message":"signing failed"}],"details":"signing failed","error":"server_error","error_description":"signing failed"}` + "\n",
		},
		{
			name: "admin API, a field at fault",
			write: func(w http.ResponseWriter) {
				errcode.WriteAdmin(w, &errcode.Error{Code: errcode.AdminInvalid, Field: "password", Message: "too short"})
			},
			status: 400,
			header: map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Retry-After": ""},
			body:   "{\n  \"error\": {\n    \"code\": \"invalid\",\n    \"message\": \"too short\",\n    \"field\": \"password\"\n  }\n}\n",
		},
		{
			name:   "admin API, a 503 says 5 seconds",
			write:  func(w http.ResponseWriter) { errcode.WriteAdmin(w, errcode.New(errcode.AdminUnavailable, "")) },
			status: 503,
			header: map[string]string{"Retry-After": "5"},
			body: "{\n  \"error\": {\n    \"code\": \"unavailable\",\n    \"message\": \"the database is unavailable or failed; " +
				"retry later (the server log has the details)\"\n  }\n}\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			tc.write(rec)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			for k, want := range tc.header {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if diff := cmp.Diff(tc.body, rec.Body.String()); diff != "" {
				t.Errorf("body (-want +got)\n%s", diff)
			}
		})
	}
}
