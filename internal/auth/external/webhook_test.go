package external_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/authntest"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/external"
)

func config(url string) external.WebhookConfig {
	return external.WebhookConfig{URL: url, Timeout: 30 * time.Second, MaxResponse: 64 << 10}
}

// fixtureServer is a webhook_auth endpoint knowing the fixture's users.
func fixtureServer(t *testing.T, f authntest.Fixture) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in external.WebhookAuthRequest
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || dec.Decode(&in) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		out := external.WebhookAuthResponse{Result: "no_match"}
		for _, u := range f.Users {
			if u.Name == in.User {
				out.Result = "deny"
				if u.Password == in.Password {
					out = external.WebhookAuthResponse{Result: "allow", Labels: u.Labels}
				}
			}
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestWebhookAuthConformance(t *testing.T) {
	authntest.Run(t, authntest.Contract{UnknownUser: authn.NoMatch, Labels: true},
		func(t *testing.T, f authntest.Fixture) authn.Authenticator {
			a, err := external.NewWebhookAuth(config(fixtureServer(t, f).URL))
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

func TestWebhookAuthzDecisions(t *testing.T) {
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
			a, err := external.NewWebhookAuthz(config(e.srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Authorize(context.Background(), request())
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

func TestWebhookAuthzRequestSchema(t *testing.T) {
	t.Parallel()
	e := serve(t, http.StatusOK, `{"result": "deny"}`)
	a, err := external.NewWebhookAuthz(config(e.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authorize(context.Background(), request()); err != nil {
		t.Fatal(err)
	}
	want := `{"account":"alice","labels":{"group":["dev"]},"service":"registry.example.com","ip":"10.1.2.3","type":"repository","name":"team/app","actions":["pull","push"]}`
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

func TestWebhookAuthAnswers(t *testing.T) {
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
			a, err := external.NewWebhookAuth(config(serve(t, http.StatusOK, tc.answer).srv.URL))
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

func TestWebhookFailuresNeverGrant(t *testing.T) {
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
			z, err := external.NewWebhookAuthz(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := z.Authorize(context.Background(), request())
			if err == nil || got != nil || errors.Is(err, authz.ErrNoMatch) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("authz: %v, %v; want an error saying %q", got, err, tc.want)
			}
			if strings.Contains(err.Error(), "in-query") {
				t.Errorf("the error shows the URL's query: %v", err)
			}
			a, err := external.NewWebhookAuth(cfg)
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

func TestWebhookSecretsStayHidden(t *testing.T) {
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
	a, err := external.NewWebhookAuth(cfg)
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

func TestWebhookSecretHeaderSent(t *testing.T) {
	t.Parallel()
	e := serve(t, http.StatusOK, `{"result": "deny"}`)
	cfg := config(e.srv.URL)
	cfg.SecretHeader, cfg.Secret = "Authorization", "Bearer hook-token"
	a, err := external.NewWebhookAuthz(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authorize(context.Background(), request()); err != nil {
		t.Fatal(err)
	}
	if got := e.header.Load().(http.Header).Get("Authorization"); got != "Bearer hook-token" {
		t.Errorf("Authorization = %q", got)
	}
}

func TestWebhookTLSVerification(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"result": "allow", "actions": ["pull"]}`)
	}))
	t.Cleanup(srv.Close)
	untrusted, err := external.NewWebhookAuthz(config(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := untrusted.Authorize(context.Background(), request()); err == nil || got != nil {
		t.Fatalf("an untrusted certificate was accepted: %v, %v", got, err)
	}
	cfg := config(srv.URL)
	cfg.CACertificates = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	trusted, err := external.NewWebhookAuthz(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := trusted.Authorize(context.Background(), request()); err != nil || len(got) != 1 {
		t.Fatalf("with the CA configured: %v, %v", got, err)
	}
}

func TestNewWebhookRejectsBadConfig(t *testing.T) {
	t.Parallel()
	good := config("https://auth.example.com/hook")
	for name, mutate := range map[string]func(*external.WebhookConfig){
		"ftp url":        func(c *external.WebhookConfig) { c.URL = "ftp://x/" },
		"no host":        func(c *external.WebhookConfig) { c.URL = "https:///x" },
		"credentials":    func(c *external.WebhookConfig) { c.URL = "https://u:p@x/" },
		"no timeout":     func(c *external.WebhookConfig) { c.Timeout = 0 },
		"no bound":       func(c *external.WebhookConfig) { c.MaxResponse = 0 },
		"header only":    func(c *external.WebhookConfig) { c.SecretHeader = "X-Key" },
		"not PEM":        func(c *external.WebhookConfig) { c.CACertificates = []byte("hello") },
		"secret no name": func(c *external.WebhookConfig) { c.Secret = "x" },
	} {
		c := good
		mutate(&c)
		if _, err := external.NewWebhookAuthz(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := external.NewWebhookAuth(good); err != nil {
		t.Errorf("a good config: %v", err)
	}
}
