package proxy_test

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"wharf/internal/errcode"
	"wharf/internal/proxy"
	"wharf/internal/upstream"
)

// TestCredentialsUnreadable: when the upstream's credentials cannot be
// read (a stored one sealed with another key), a cached tag is served
// stale and an uncached one is UNAVAILABLE, both saying so without the
// operator's explanation, which only the log gets.
func TestCredentialsUnreadable(t *testing.T) {
	t.Parallel()
	const detail = "sealed with key 0123abcd, this server's key /srv/wharf/auth/upstream-credentials.key"
	dir := t.TempDir()
	lf, err := os.Create(filepath.Join(dir, "upstream.log"))
	if err != nil {
		t.Fatal(err)
	}
	inner := ggcr.New(ggcr.Logger(log.New(lf, "", log.LstdFlags)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "u" || p != "pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="up"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); lf.Close() })
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://")+"/team/app:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "u", Password: "pw"})); err != nil {
		t.Fatal(err)
	}

	var logs strings.Builder
	lg := slog.New(slog.NewTextHandler(&logs, nil))
	reg, _ := newRegistry(t, dir, lg, nil)
	var broken atomic.Bool
	client, err := upstream.New(upstream.Options{URL: srv.URL, Credentials: func(context.Context) (upstream.Credential, error) {
		if broken.Load() {
			return upstream.Credential{}, errors.New(detail)
		}
		return upstream.Credential{Username: "u", Password: "pw"}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := proxy.New(reg, lg, []proxy.Upstream{{Prefix: "up", Client: client, TTL: 0}}, proxy.Options{SpoolDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := c.Manifest(ctx, "up/team/app", "1"); err != nil {
		t.Fatalf("with readable credentials: %v", err)
	}
	broken.Store(true)
	res, err := c.Manifest(ctx, "up/team/app", "1")
	if err != nil || !strings.Contains(res.Warning, "cannot read its credentials") || strings.Contains(res.Warning, "0123abcd") {
		t.Errorf("cached tag, unreadable credentials: %+v, %v; want served stale, saying so without the details", res, err)
	}
	_, err = c.Manifest(ctx, "up/team/app", "2")
	var ec *errcode.Error
	if !errors.As(err, &ec) || ec.Code != errcode.Unavailable || !strings.Contains(ec.Message, "cannot read its credentials") || strings.Contains(ec.Message, "0123abcd") {
		t.Errorf("uncached tag, unreadable credentials: %v; want UNAVAILABLE without the details", err)
	}
	if !strings.Contains(logs.String(), "0123abcd") {
		t.Errorf("the log does not say why:\n%s", logs.String())
	}
}
