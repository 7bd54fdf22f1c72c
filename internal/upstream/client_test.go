package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/auth"
)

const manifestBody = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`

// fakeRegistry serves one manifest under team/app:1 behind the challenge
// auth names: "bearer", "basic" or "none".
type fakeRegistry struct {
	auth          string
	tokens        atomic.Int32 // token requests
	scopes        atomic.Value // the last scope asked for
	manifestGets  atomic.Int32
	rateLimit     string
	status        int // when not 0, the manifest is answered with it
	wrongManifest bool
	// rotated, when set, is the password and token that replaced s3cret
	// and tok-1 (the upstream's password changed).
	rotated atomic.Pointer[string]
}

// password and token are the ones the fake accepts now.
func (f *fakeRegistry) password() (string, string) {
	if p := f.rotated.Load(); p != nil {
		return *p, "tok-" + *p
	}
	return "s3cret", "tok-1"
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		password, token := f.password()
		user, pass, ok := r.BasicAuth()
		if !ok || user != "u" || pass != password {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		f.tokens.Add(1)
		f.scopes.Store(r.URL.Query().Get("scope"))
		fmt.Fprintf(w, `{"token":%q,"expires_in":300}`, token)
		return
	}
	password, token := f.password()
	switch f.auth {
	case "bearer":
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="fake",scope="repository:team/app:pull"`, r.Host))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	case "basic":
		if user, pass, ok := r.BasicAuth(); !ok || user != "u" || pass != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	if r.URL.Path == "/v2/" {
		return
	}
	if r.URL.Path != "/v2/team/app/manifests/1" {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`)
		return
	}
	if f.rateLimit != "" {
		w.Header().Set("RateLimit-Limit", f.rateLimit)
		w.Header().Set("RateLimit-Remaining", "99;w=21600")
	}
	if f.status != 0 {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(f.status)
		return
	}
	body := manifestBody
	w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	w.Header().Set("Docker-Content-Digest", digest.FromString(body).String())
	if f.wrongManifest {
		body += " "
	}
	if r.Method == http.MethodGet {
		f.manifestGets.Add(1)
		io.WriteString(w, body)
	}
}

func newClient(t *testing.T, f *fakeRegistry, user, password string) *Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(Options{URL: srv.URL, Username: user, Password: auth.Secret(password)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChallenges(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{"bearer", "basic", "none"} {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			f := &fakeRegistry{auth: auth}
			user, pass := "u", "s3cret"
			if auth == "none" {
				user, pass = "", ""
			}
			c := newClient(t, f, user, pass)
			for range 3 {
				m, err := c.GetManifest(t.Context(), "team/app", "1")
				if err != nil {
					t.Fatal(err)
				}
				if m.Digest != digest.FromString(manifestBody) || m.MediaType != "application/vnd.oci.image.manifest.v1+json" {
					t.Errorf("manifest = %+v", m)
				}
			}
			if auth == "bearer" {
				if n := f.tokens.Load(); n != 1 {
					t.Errorf("3 requests asked for %d tokens; want 1, kept until refused", n)
				}
				if s, _ := f.scopes.Load().(string); s != "repository:team/app:pull" {
					t.Errorf("token scope = %q", s)
				}
			}
		})
	}
}

func TestWrongPasswordStaysSecret(t *testing.T) {
	t.Parallel()
	c := newClient(t, &fakeRegistry{auth: "bearer"}, "u", "not-the-password")
	_, err := c.GetManifest(t.Context(), "team/app", "1")
	if err == nil {
		t.Fatal("a wrong password fetched the manifest")
	}
	if strings.Contains(err.Error(), "not-the-password") {
		t.Errorf("the error shows the password: %v", err)
	}
	if got := fmt.Sprintf("%v %+v", auth.Secret("not-the-password"), Options{Password: "not-the-password"}); strings.Contains(got, "not-the-password") {
		t.Errorf("the password prints: %s", got)
	}
}

func TestAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		f         *fakeRegistry
		ref       string
		transient bool
		notFound  bool
		is        error
	}{
		{"rate-limited", &fakeRegistry{status: 429}, "1", true, false, nil},
		{"server error", &fakeRegistry{status: 502}, "1", true, false, nil},
		{"unknown tag", &fakeRegistry{}, "2", false, true, nil},
		{"digest mismatch", &fakeRegistry{wrongManifest: true}, "1", false, false, ErrDigestMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, tc.f, "", "")
			_, err := c.GetManifest(t.Context(), "team/app", tc.ref)
			if err == nil {
				t.Fatal("no error")
			}
			if Transient(err) != tc.transient || NotFound(err) != tc.notFound {
				t.Errorf("%v: transient %v, not found %v", err, Transient(err), NotFound(err))
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v is not %v", err, tc.is)
			}
			var se *StatusError
			if tc.f.status == 429 && (!errors.As(err, &se) || se.RetryAfter.Seconds() != 7) {
				t.Errorf("429 without its Retry-After: %v", err)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := New(Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.HeadManifest(context.Background(), "team/app", "1")
	if !errors.Is(err, ErrUnreachable) || !Transient(err) {
		t.Errorf("closed port: %v; want ErrUnreachable", err)
	}
}

func TestRateLimitRecorded(t *testing.T) {
	t.Parallel()
	c := newClient(t, &fakeRegistry{rateLimit: "100;w=21600"}, "", "")
	if rl := c.RateLimit(); rl.Limit != -1 || rl.Remaining != -1 {
		t.Errorf("before any answer: %+v", rl)
	}
	if _, err := c.HeadManifest(t.Context(), "team/app", "1"); err != nil {
		t.Fatal(err)
	}
	rl := c.RateLimit()
	if rl.Limit != 100 || rl.Remaining != 99 || rl.Window.Hours() != 6 || rl.At.IsZero() {
		t.Errorf("rate limit = %+v; want 100, 99 left, 6h window", rl)
	}
}

// TestCredentialsAskedAgain: a client given a Credentials function uses the
// new password once the upstream refuses the old one, without a new
// client: for Bearer at the token request the refusal causes, for Basic at
// the next request.
func TestCredentialsAskedAgain(t *testing.T) {
	t.Parallel()
	for _, scheme := range []string{"bearer", "basic"} {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			f := &fakeRegistry{auth: scheme}
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			var current atomic.Pointer[Credential]
			current.Store(&Credential{Username: "u", Password: "s3cret"})
			asked := atomic.Int32{}
			c, err := New(Options{URL: srv.URL, Credentials: func(context.Context) (Credential, error) {
				asked.Add(1)
				return *current.Load(), nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.GetManifest(t.Context(), "team/app", "1"); err != nil {
				t.Fatal(err)
			}
			rotated := "n3w-pass"
			f.rotated.Store(&rotated)
			if _, err := c.GetManifest(t.Context(), "team/app", "1"); err == nil {
				t.Fatal("the old password still fetched after the upstream changed it")
			}
			current.Store(&Credential{Username: "u", Password: auth.Secret(rotated)})
			if _, err := c.GetManifest(t.Context(), "team/app", "1"); err != nil {
				t.Fatalf("after the credentials changed: %v", err)
			}
			if asked.Load() < 2 {
				t.Errorf("credentials asked %d times", asked.Load())
			}
		})
	}
}

// TestCredentialsError: the function's error fails the request, naming
// what it said.
func TestCredentialsError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&fakeRegistry{auth: "bearer"})
	t.Cleanup(srv.Close)
	c, err := New(Options{URL: srv.URL, Credentials: func(context.Context) (Credential, error) {
		return Credential{}, errors.New("sealed with another key")
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetManifest(t.Context(), "team/app", "1")
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "sealed with another key") || Transient(err) {
		t.Errorf("GetManifest: %v; want ErrCredentials, not transient", err)
	}
}
