package webhook_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/authntest"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/webhook"
)

func config(url string) webhook.Config {
	return webhook.Config{URL: url, Timeout: 30 * time.Second, MaxResponse: 64 << 10}
}

// fixtureServer is a webhook_auth endpoint knowing the fixture's users.
func fixtureServer(t *testing.T, f authntest.Fixture) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in webhook.AuthnRequest
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || dec.Decode(&in) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		out := webhook.AuthnResponse{Result: "no_match"}
		for _, u := range f.Users {
			if u.Name == in.User {
				out.Result = "deny"
				if u.Password == in.Password {
					out = webhook.AuthnResponse{Result: "allow", Labels: u.Labels}
				}
			}
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestConformance(t *testing.T) {
	authntest.Run(t, authntest.Contract{UnknownUser: authn.NoMatch, Labels: true},
		func(t *testing.T, f authntest.Fixture) authn.Authenticator {
			a, err := webhook.NewAuthenticator(config(fixtureServer(t, f).URL))
			if err != nil {
				t.Fatal(err)
			}
			return a
		})
}

// endpoint serves one fixed answer and records what it was sent.
type endpoint struct {
	srv    *httptest.Server
	body   atomic.Value // string: the last request body
	header atomic.Value // http.Header
}

func serve(t *testing.T, status int, answer string) *endpoint {
	t.Helper()
	e := &endpoint{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.body.Store(string(b))
		e.header.Store(r.Header.Clone())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func authRequest() auth.Request {
	return auth.Request{
		Identity: auth.Identity{Account: "alice", Labels: auth.Labels{"group": {"dev"}}},
		Service:  "wharf",
		IP:       netip.MustParseAddr("10.0.0.7"),
		Access:   auth.Access{Type: "repository", Name: "team/app", Actions: []string{"pull", "push"}},
	}
}

func TestAuthzDecisions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		answer string
		want   []string
		err    error // nil, authz.ErrNoMatch, or errAny
	}{
		{answer: `{"result": "allow", "actions": ["pull"]}`, want: []string{"pull"}},
		{answer: `{"result": "allow", "actions": ["*"]}`, want: []string{"pull", "push"}},
		{answer: `{"result": "allow", "actions": ["pull", "delete"]}`, want: []string{"pull"}},
		{answer: `{"result": "deny"}`, want: []string{}},
		{answer: `{"result": "no_match"}`, err: authz.ErrNoMatch},
		{answer: `{"result": "allow"}`, err: errAny},
		{answer: `{"result": "allow", "actions": []}`, err: errAny},
		{answer: `{"result": "deny", "actions": ["pull"]}`, err: errAny},
		{answer: `{"result": "yes"}`, err: errAny},
		{answer: `{"actions": ["pull"]}`, err: errAny},
		{answer: `{"result": "allow", "actions": ["pull"], "admin": true}`, err: errAny},
		{answer: `{"result": "deny"} {"result": "allow", "actions": ["*"]}`, err: errAny},
		{answer: `<html>502 Bad Gateway</html>`, err: errAny},
		{answer: ``, err: errAny},
		{answer: `{"result": "allow", "actions": "pull"}`, err: errAny},
	}
	for _, tc := range tests {
		t.Run(tc.answer, func(t *testing.T) {
			t.Parallel()
			e := serve(t, http.StatusOK, tc.answer)
			a, err := webhook.NewAuthorizer(config(e.srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Authorize(context.Background(), authRequest())
			switch {
			case tc.err == errAny:
				if err == nil || errors.Is(err, authz.ErrNoMatch) || got != nil {
					t.Fatalf("%v, %v; want an error", got, err)
				}
			case tc.err != nil:
				if !errors.Is(err, tc.err) || got != nil {
					t.Fatalf("%v, %v; want %v", got, err, tc.err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}

var errAny = errors.New("any error")

func TestAuthzRequestSchema(t *testing.T) {
	t.Parallel()
	e := serve(t, http.StatusOK, `{"result": "deny"}`)
	a, err := webhook.NewAuthorizer(config(e.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authorize(context.Background(), authRequest()); err != nil {
		t.Fatal(err)
	}
	want := `{"account":"alice","labels":{"group":["dev"]},"service":"wharf","ip":"10.0.0.7","type":"repository","name":"team/app","actions":["pull","push"]}`
	if got := e.body.Load().(string); got != want {
		t.Errorf("request body:\n got %s\nwant %s", got, want)
	}
	if _, err := a.Authorize(context.Background(), auth.Request{Access: auth.Access{Type: "registry", Name: "catalog", Actions: []string{"*"}}}); err != nil {
		t.Fatal(err)
	}
	want = `{"account":"","labels":{},"service":"","ip":"","type":"registry","name":"catalog","actions":["*"]}`
	if got := e.body.Load().(string); got != want {
		t.Errorf("anonymous request body:\n got %s\nwant %s", got, want)
	}
}

func TestAuthnAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		answer string
		want   authn.Result
		labels auth.Labels
		err    bool
	}{
		{answer: `{"result": "allow"}`, want: authn.Accepted},
		{answer: `{"result": "allow", "labels": {"team": ["a", "b"]}}`, want: authn.Accepted, labels: auth.Labels{"team": {"a", "b"}}},
		{answer: `{"result": "deny"}`, want: authn.WrongPassword},
		{answer: `{"result": "no_match"}`, want: authn.NoMatch},
		{answer: `{"result": "deny", "labels": {"team": ["a"]}}`, err: true},
		{answer: `{"result": "allow", "labels": {"team": "a"}}`, err: true},
		{answer: `{"result": "allow", "labels": {"": ["a"]}}`, err: true},
		{answer: `{"result": "ALLOW"}`, err: true},
		{answer: `{"result": "allow", "user": "root"}`, err: true},
		{answer: `{}`, err: true},
		{answer: `null`, err: true},
		{answer: `true`, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.answer, func(t *testing.T) {
			t.Parallel()
			a, err := webhook.NewAuthenticator(config(serve(t, http.StatusOK, tc.answer).srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			res, labels, err := a.Authenticate(context.Background(), "alice", "pw")
			if tc.err {
				if err == nil || res == authn.Accepted || labels != nil {
					t.Fatalf("%v, %v, %v; want an error", res, labels, err)
				}
				return
			}
			if err != nil || res != tc.want {
				t.Fatalf("%v, %v; want %v", res, err, tc.want)
			}
			if diff := cmp.Diff(tc.labels, labels); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestFailuresNeverGrant(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets Close finish
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"result": "allow", "actions": ["pull"`+strings.Repeat(`, "pull"`, 100000)+`]}`)
	}))
	t.Cleanup(huge.Close)
	redirect := httptest.NewServer(http.RedirectHandler("http://127.0.0.1:1/", http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name, url, want string
		timeout         time.Duration
	}{
		{"timeout", slow.URL, "no answer within", 300 * time.Millisecond},
		{"huge answer", huge.URL, "larger than max_response_size", 0},
		{"redirect", redirect.URL, "redirects are not followed", 0},
		{"status 500", serve(t, 500, `{"result": "allow", "actions": ["*"]}`).srv.URL, "status 500", 0},
		{"status 204", serve(t, 204, ``).srv.URL, "status 204", 0},
		{"connection refused", closed.URL, "POST", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := config(tc.url + "/hook?token=in-query")
			if tc.timeout > 0 {
				cfg.Timeout = tc.timeout
			}
			z, err := webhook.NewAuthorizer(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := z.Authorize(context.Background(), authRequest())
			if err == nil || got != nil || errors.Is(err, authz.ErrNoMatch) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("authz: %v, %v; want an error saying %q", got, err, tc.want)
			}
			if strings.Contains(err.Error(), "in-query") {
				t.Errorf("the error shows the URL's query: %v", err)
			}
			a, err := webhook.NewAuthenticator(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, labels, err := a.Authenticate(context.Background(), "alice", "pw")
			if err == nil || res == authn.Accepted || labels != nil {
				t.Fatalf("authn: %v, %v, %v; want an error", res, labels, err)
			}
		})
	}
}

func TestSecretsStayHidden(t *testing.T) {
	t.Parallel()
	// An endpoint that fails and echoes what it was sent.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(b)
		_, _ = io.WriteString(w, " key="+r.Header.Get("X-Hook-Key"))
	}))
	t.Cleanup(srv.Close)
	cfg := config(srv.URL)
	cfg.SecretHeader, cfg.Secret = "X-Hook-Key", "hook-secret-value"
	a, err := webhook.NewAuthenticator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = a.Authenticate(context.Background(), "alice", "user-password-1")
	if err == nil {
		t.Fatal("status 500 was not an error")
	}
	for _, s := range []string{"user-password-1", "hook-secret-value"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("the error shows %q: %v", s, err)
		}
	}
	if !strings.Contains(err.Error(), "alice") {
		t.Errorf("the error should quote the answer (with secrets masked): %v", err)
	}
}

func TestSecretHeaderSent(t *testing.T) {
	t.Parallel()
	e := serve(t, http.StatusOK, `{"result": "deny"}`)
	cfg := config(e.srv.URL)
	cfg.SecretHeader, cfg.Secret = "Authorization", "Bearer hook-token"
	a, err := webhook.NewAuthorizer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authorize(context.Background(), authRequest()); err != nil {
		t.Fatal(err)
	}
	if got := e.header.Load().(http.Header).Get("Authorization"); got != "Bearer hook-token" {
		t.Errorf("Authorization = %q", got)
	}
}

func TestTLSVerification(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"result": "allow", "actions": ["pull"]}`)
	}))
	t.Cleanup(srv.Close)
	untrusted, err := webhook.NewAuthorizer(config(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := untrusted.Authorize(context.Background(), authRequest()); err == nil || got != nil {
		t.Fatalf("an untrusted certificate was accepted: %v, %v", got, err)
	}
	cfg := config(srv.URL)
	cfg.CACertificates = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	trusted, err := webhook.NewAuthorizer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := trusted.Authorize(context.Background(), authRequest()); err != nil || len(got) != 1 {
		t.Fatalf("with the CA configured: %v, %v", got, err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	good := config("https://auth.example.com/hook")
	for name, mutate := range map[string]func(*webhook.Config){
		"ftp url":        func(c *webhook.Config) { c.URL = "ftp://x/" },
		"no host":        func(c *webhook.Config) { c.URL = "https:///x" },
		"credentials":    func(c *webhook.Config) { c.URL = "https://u:p@x/" },
		"no timeout":     func(c *webhook.Config) { c.Timeout = 0 },
		"no bound":       func(c *webhook.Config) { c.MaxResponse = 0 },
		"header only":    func(c *webhook.Config) { c.SecretHeader = "X-Key" },
		"not PEM":        func(c *webhook.Config) { c.CACertificates = []byte("hello") },
		"secret no name": func(c *webhook.Config) { c.Secret = "x" },
	} {
		c := good
		mutate(&c)
		if _, err := webhook.NewAuthorizer(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := webhook.NewAuthenticator(good); err != nil {
		t.Errorf("a good config: %v", err)
	}
}
