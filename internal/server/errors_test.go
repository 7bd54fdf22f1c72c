package server

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"wharf/internal/adminapi"
	"wharf/internal/config"
	"wharf/internal/edge"
	"wharf/internal/errcode"
)

// errorServer is the composed server of `wharf serve` (token auth, the
// admin API) for provoking errors, with its log in a JSON file.
type errorServer struct {
	s       *Server
	srv     *httptest.Server
	adminPW string
	logPath string
	// bearer is a token for pull, push and delete on walk/repo.
	bearer string
}

func startErrorServer(t *testing.T) *errorServer {
	t.Helper()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	logPath := filepath.Join(t.TempDir(), "wharf.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("server log %s:\n%s", logPath, b)
		}
	})
	s, srv, pw := startComposedServer(t, cfg, slog.New(slog.NewJSONHandler(f, nil)))
	es := &errorServer{s: s, srv: srv, adminPW: pw, logPath: logPath}
	res, body := es.do(t, "GET", "/auth/token?service=wharf&scope="+url.QueryEscape("repository:walk/repo:pull,push,delete"), "basic", nil, "")
	var tok struct{ Token string }
	if err := json.Unmarshal(body, &tok); res.StatusCode != http.StatusOK || err != nil || tok.Token == "" {
		t.Fatalf("token for walk/repo: %d %s", res.StatusCode, body)
	}
	es.bearer = tok.Token
	return es
}

// do sends a request; auth is "" (none), "basic" (the built-in admin),
// "bearer" (the walk/repo token) or "forged" (a token that does not
// verify).
func (es *errorServer) do(t *testing.T, method, path, auth string, header map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, es.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	switch auth {
	case "basic":
		req.SetBasicAuth("admin", es.adminPW)
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+es.bearer)
	case "forged":
		req.Header.Set("Authorization", "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := es.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// errorCase is one request that must fail.
type errorCase struct {
	name, method, path, auth string
	header                   map[string]string
	body                     string
	// code is the value expected on the wire ("" for a HEAD, which has no
	// body), status the status.
	code   string
	status int
	// prepare, when set, runs first and returns the path to request (an
	// upload session's, say).
	prepare func(t *testing.T, es *errorServer) string
}

const zeroDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

// registryErrorCases provoke at least one error of every route family the
// server answers in the OCI format: the registry API, the token endpoint,
// and the server's own fallbacks.
func registryErrorCases() []errorCase {
	return []errorCase{
		{name: "v2 without credentials", method: "GET", path: "/v2/", code: "UNAUTHORIZED", status: 401},
		{name: "v2 with a forged token", method: "GET", path: "/v2/walk/repo/tags/list", auth: "forged", code: "UNAUTHORIZED", status: 401},
		{name: "catalog without its scope", method: "GET", path: "/v2/_catalog", auth: "bearer", code: "UNAUTHORIZED", status: 401},
		{name: "v2 method", method: "PATCH", path: "/v2/", auth: "bearer", code: "UNSUPPORTED", status: 405},
		{name: "v2 unknown endpoint", method: "GET", path: "/v2/walk/repo/nothing/here", auth: "bearer", code: "NOT_FOUND", status: 404},
		{name: "v2 invalid name", method: "GET", path: "/v2/Walk/manifests/latest", auth: "bearer", code: "NAME_INVALID", status: 400},
		{name: "v2 too old a client", method: "GET", path: "/v2/", header: map[string]string{"User-Agent": "docker/1.4.1"}, code: "UNSUPPORTED", status: 404},
		{name: "tags of an unknown repository", method: "GET", path: "/v2/walk/repo/tags/list", auth: "bearer", code: "NAME_UNKNOWN", status: 404},
		{name: "tags page size", method: "GET", path: "/v2/walk/repo/tags/list?n=-1", auth: "bearer", code: "PAGINATION_NUMBER_INVALID", status: 400},
		{name: "unknown manifest", method: "GET", path: "/v2/walk/repo/manifests/latest", auth: "bearer", code: "MANIFEST_UNKNOWN", status: 404},
		{name: "invalid manifest", method: "PUT", path: "/v2/walk/repo/manifests/latest", auth: "bearer",
			header: map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, body: "{not json", code: "MANIFEST_INVALID", status: 400},
		{name: "unknown blob", method: "GET", path: "/v2/walk/repo/blobs/" + zeroDigest, auth: "bearer", code: "BLOB_UNKNOWN", status: 404},
		{name: "unknown blob, HEAD", method: "HEAD", path: "/v2/walk/repo/blobs/" + zeroDigest, auth: "bearer", status: 404},
		{name: "unknown upload", method: "PATCH", path: "/v2/walk/repo/blobs/uploads/nope", auth: "bearer", body: "x", code: "BLOB_UPLOAD_UNKNOWN", status: 404},
		{name: "bad digest", method: "POST", path: "/v2/walk/repo/blobs/uploads/?digest=sha256:xyz", auth: "bearer", body: "x", code: "DIGEST_INVALID", status: 400},
		{name: "manifest of unknown blobs", method: "PUT", path: "/v2/walk/repo/manifests/latest", auth: "bearer",
			header: map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
			body: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":` +
				`"application/vnd.oci.image.config.v1+json","digest":"` + zeroDigest + `","size":2},"layers":[]}`, code: "MANIFEST_BLOB_UNKNOWN", status: 400},
		{name: "manifest too large", method: "PUT", path: "/v2/walk/repo/manifests/latest", auth: "bearer",
			header: map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, body: strings.Repeat(" ", 4<<20+1), code: "SIZE_INVALID", status: 413},
		{name: "chunk out of order", method: "PATCH", auth: "bearer", header: map[string]string{"Content-Range": "5-9"}, body: "12345",
			code: "BLOB_UPLOAD_INVALID", status: 416, prepare: startUpload},
		{name: "referrers of a bad digest", method: "GET", path: "/v2/walk/repo/referrers/sha256:xyz", auth: "bearer", code: "DIGEST_INVALID", status: 400},

		{name: "token for another service", method: "GET", path: "/auth/token?service=other", code: "UNSUPPORTED", status: 400},
		{name: "token scope", method: "GET", path: "/auth/token?service=wharf&scope=garbage", code: "UNSUPPORTED", status: 400},
		{name: "token wrong password", method: "GET", path: "/auth/token?service=wharf", header: map[string]string{"Authorization": "Basic YWRtaW46d3Jvbmc="}, code: "UNAUTHORIZED", status: 401},
		{name: "token bearer credentials", method: "GET", path: "/auth/token?service=wharf", auth: "bearer", code: "UNAUTHORIZED", status: 400},
		{name: "token method", method: "DELETE", path: "/auth/token", code: "UNSUPPORTED", status: 405},
		{name: "token grant", method: "POST", path: "/auth/token", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body: "grant_type=magic&service=wharf", code: "UNSUPPORTED", status: 400},
		{name: "token refresh", method: "POST", path: "/auth/token", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body: "grant_type=refresh_token&refresh_token=bogus&service=wharf", code: "UNAUTHORIZED", status: 401},

		{name: "no such path", method: "GET", path: "/nothing/here", code: "NOT_FOUND", status: 404},
		{name: "healthz method", method: "POST", path: "/healthz", code: "UNSUPPORTED", status: 405},
		{name: "readyz method", method: "PUT", path: "/readyz", code: "UNSUPPORTED", status: 405},
		{name: "jwks method", method: "POST", path: "/auth/jwks.json", code: "UNSUPPORTED", status: 405},
	}
}

// adminErrorCases provoke an error on every route of the admin API (no
// credentials: 401) and the API's other refusals.
func adminErrorCases() []errorCase {
	wildcard := regexp.MustCompile(`\{[a-z]+\}`)
	var cases []errorCase
	for _, rt := range adminapi.Routes() {
		cases = append(cases, errorCase{name: "admin " + rt.Method + " " + rt.Path + " without credentials",
			method: rt.Method, path: adminapi.Prefix + wildcard.ReplaceAllString(rt.Path, "1"), code: "unauthorized", status: 401})
	}
	json := map[string]string{"Content-Type": "application/json"}
	return append(cases,
		errorCase{name: "admin unknown user", method: "GET", path: "/api/v1/users/nobody", auth: "basic", code: "not_found", status: 404},
		errorCase{name: "admin not JSON", method: "POST", path: "/api/v1/users", auth: "basic", body: "name=x", code: "unsupported_media_type", status: 415},
		errorCase{name: "admin bad JSON", method: "POST", path: "/api/v1/users", auth: "basic", header: json, body: "{", code: "invalid", status: 400},
		errorCase{name: "admin unknown member", method: "POST", path: "/api/v1/teams", auth: "basic", header: json, body: `{"nom":"x"}`, code: "invalid", status: 400},
		errorCase{name: "admin name taken", method: "POST", path: "/api/v1/teams", auth: "basic", header: json, body: `{"name":"twice"}`,
			code: "conflict", status: 409, prepare: func(t *testing.T, es *errorServer) string {
				if res, body := es.do(t, "POST", "/api/v1/teams", "basic", json, `{"name":"twice"}`); res.StatusCode != http.StatusCreated {
					t.Fatalf("the first team: %d %s", res.StatusCode, body)
				}
				return "/api/v1/teams"
			}},
		errorCase{name: "admin method", method: "PUT", path: "/api/v1/users", auth: "basic", code: "method_not_allowed", status: 405},
		errorCase{name: "admin no such endpoint", method: "GET", path: "/api/v1/nothing", auth: "basic", code: "not_found", status: 404},
		errorCase{name: "admin a token without the scope", method: "GET", path: "/api/v1/users", auth: "bearer", code: "forbidden", status: 403},
		errorCase{name: "admin stale If-Match", method: "PATCH", path: "/api/v1/acl/rules/1", auth: "basic",
			header: map[string]string{"Content-Type": "application/json", "If-Match": `"stale"`}, body: `{"position":1}`, code: "precondition_failed", status: 412},
	)
}

// TestErrorAnswersFromTheTable walks every route family's error answers —
// the registry API, the token endpoint, the admin API's routes, /readyz
// and the 404/405 fallbacks — and checks that each answer's code is an
// entry of errcode's table with the status the table gives it, in the
// wire format of its family, with a request id.
func TestErrorAnswersFromTheTable(t *testing.T) {
	t.Parallel()
	es := startErrorServer(t)
	reached := map[errcode.Code]bool{}
	check := func(t *testing.T, tc errorCase, family errcode.Family) {
		t.Helper()
		if tc.prepare != nil {
			tc.path = tc.prepare(t, es)
		}
		res, body := es.do(t, tc.method, tc.path, tc.auth, tc.header, tc.body)
		if res.StatusCode < 400 || res.StatusCode != tc.status {
			t.Fatalf("%s %s answered %d; want the error %d: %s", tc.method, tc.path, res.StatusCode, tc.status, body)
		}
		if res.Header.Get(edge.RequestIDHeader) == "" {
			t.Errorf("no %s header", edge.RequestIDHeader)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if tc.method == http.MethodHead {
			if len(body) != 0 {
				t.Errorf("HEAD answered with a body: %s", body)
			}
			return
		}
		codes := wireCodes(t, family, tc.path, body)
		if len(codes) == 0 {
			t.Fatalf("no error code in %s", body)
		}
		for _, c := range codes {
			d, ok := errcode.Lookup(family, c, res.StatusCode)
			if !ok {
				t.Errorf("%s %s answered %d %s, which errcode's table does not have (%s)", tc.method, tc.path, res.StatusCode, c, body)
				continue
			}
			reached[d.Code] = true
		}
		if codes[0] != tc.code {
			t.Errorf("%s %s answered %s; want %s", tc.method, tc.path, codes[0], tc.code)
		}
	}
	for _, tc := range registryErrorCases() {
		t.Run(tc.name, func(t *testing.T) { check(t, tc, errcode.Registry) })
	}
	for _, tc := range adminErrorCases() {
		t.Run(tc.name, func(t *testing.T) { check(t, tc, errcode.Admin) })
	}
	// Last: /readyz with the database gone.
	if err := es.s.meta.Close(); err != nil {
		t.Fatal(err)
	}
	t.Run("readyz without a database", func(t *testing.T) {
		check(t, errorCase{method: "GET", path: "/readyz", code: "UNAVAILABLE", status: 503}, errcode.Registry)
	})
	var missed []string
	for _, d := range errcode.Descriptors() {
		if !reached[d.Code] && d.Family != errcode.Page {
			missed = append(missed, d.Code.String()+" "+http.StatusText(d.Status))
		}
	}
	t.Logf("%d of the table's codes answered here; not provoked by this walk: %s", len(reached), strings.Join(missed, ", "))
}

// wireCodes reads the codes of an error body in family's format (for the
// token endpoint, the OAuth2 members too).
func wireCodes(t *testing.T, family errcode.Family, path string, body []byte) []string {
	t.Helper()
	if family == errcode.Admin {
		var b struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(body, &b); err != nil || b.Error.Message == "" {
			t.Fatalf("not the admin API's error format (%v): %s", err, body)
		}
		return []string{b.Error.Code}
	}
	var b struct {
		Errors []struct{ Code, Message string } `json:"errors"`
		Error  string                           `json:"error"`
		Desc   string                           `json:"error_description"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("not the OCI error format (%v): %s", err, body)
	}
	if strings.HasPrefix(path, "/auth/token") && (b.Error == "" || b.Desc == "") {
		t.Errorf("the token endpoint's error has no OAuth2 members: %s", body)
	}
	var codes []string
	for _, e := range b.Errors {
		if e.Message == "" {
			t.Errorf("error %s has no message", e.Code)
		}
		codes = append(codes, e.Code)
	}
	return codes
}

// TestErrorLogsCarryTheRequestID: an error logged while serving a request
// — by the server (/readyz), the registry API, the token server and the
// admin API — carries the request id the response's X-Request-Id header
// names. The database is closed under the running server to make each of
// them fail.
func TestErrorLogsCarryTheRequestID(t *testing.T) {
	t.Parallel()
	es := startErrorServer(t)
	if err := es.s.meta.Close(); err != nil {
		t.Fatal(err)
	}
	json := map[string]string{"Content-Type": "application/json"}
	tests := []struct {
		name, method, path, auth, body string
		header                         map[string]string
		component                      string // the logger's component ("" for the server's own)
	}{
		{name: "server", method: "GET", path: "/readyz"},
		{name: "registry API", method: "GET", path: "/v2/walk/repo/tags/list", auth: "bearer", component: "ociapi"},
		{name: "token server", method: "GET", path: "/auth/token?service=wharf&offline_token=true&scope=" + url.QueryEscape("repository:walk/repo:pull"),
			auth: "basic", component: "tokenserver"},
		{name: "admin API", method: "POST", path: "/api/v1/teams", auth: "basic", header: json, body: `{"name":"walkers"}`, component: "adminapi"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, body := es.do(t, tc.method, tc.path, tc.auth, tc.header, tc.body)
			id := res.Header.Get(edge.RequestIDHeader)
			if res.StatusCode < 500 || id == "" {
				t.Fatalf("answered %d with request id %q; want a server error with one: %s", res.StatusCode, id, body)
			}
			var errorLines, access int
			for _, l := range readJSONLog(t, es.logPath) {
				if l["request_id"] != id {
					continue
				}
				switch {
				case l["msg"] == "request":
					access++
				case l["level"] == "ERROR" && (tc.component == "" || l["component"] == tc.component):
					errorLines++
				}
			}
			if errorLines == 0 || access != 1 {
				t.Errorf("request %s: %d ERROR lines of %q and %d access lines with its id; want at least one and exactly one",
					id, errorLines, tc.component, access)
			}
		})
	}
}

// startUpload opens an upload session on walk/repo and returns its path.
func startUpload(t *testing.T, es *errorServer) string {
	t.Helper()
	res, body := es.do(t, "POST", "/v2/walk/repo/blobs/uploads/", "bearer", nil, "")
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusAccepted || err != nil || loc.Path == "" {
		t.Fatalf("starting an upload: %d %q %s", res.StatusCode, res.Header.Get("Location"), body)
	}
	return loc.RequestURI()
}

// readJSONLog parses a JSON log file, line by line.
func readJSONLog(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}
