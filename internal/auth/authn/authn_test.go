package authn_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/authntest"
	"wharf/internal/auth/authn/static"
)

func newStatic(t *testing.T, f authntest.Fixture) *static.Authenticator {
	t.Helper()
	users := map[string]static.User{}
	for _, u := range f.Users {
		users[u.Name] = static.User{Password: auth.Secret(u.Hash), Labels: u.Labels}
	}
	if f.Anonymous {
		users[""] = static.User{Labels: f.AnonymousLabels}
	}
	a, err := static.New(users)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The chain and the cache are authenticators too, and keep the contract of
// what they wrap.
func TestConformance(t *testing.T) {
	contract := authntest.Contract{UnknownUser: authn.NoMatch, Labels: true, Anonymous: true}
	t.Run("Chain", func(t *testing.T) {
		chain := contract
		chain.ExtraLabels = auth.Labels{auth.LabelSource: {"static"}}
		authntest.Run(t, chain, func(t *testing.T, f authntest.Fixture) authn.Authenticator {
			return authn.NewChain(nil, fake{name: "empty", res: authn.NoMatch}, newStatic(t, f))
		})
	})
	t.Run("Cache", func(t *testing.T) {
		authntest.Run(t, contract, func(t *testing.T, f authntest.Fixture) authn.Authenticator {
			return authn.NewCache(newStatic(t, f), authn.CacheOptions{})
		})
	})
}

// fake answers the same for everyone and counts its calls.
type fake struct {
	name   string
	res    authn.Result
	labels auth.Labels
	err    error
	calls  *atomic.Int64
}

func (f fake) Authenticate(context.Context, string, auth.Secret) (authn.Result, auth.Labels, error) {
	if f.calls != nil {
		f.calls.Add(1)
	}
	return f.res, authn.CloneLabels(f.labels), f.err
}

func (f fake) Name() string { return f.name }

var errDown = errors.New("directory unreachable")

func TestChain(t *testing.T) {
	t.Parallel()
	yes := fake{name: "yes", res: authn.Accepted, labels: auth.Labels{"from": {"yes"}}}
	no := fake{name: "no", res: authn.WrongPassword}
	skip := fake{name: "skip", res: authn.NoMatch}
	down := fake{name: "down", err: errDown}
	bogus := fake{name: "bogus", res: authn.Result(42)}
	cases := []struct {
		name     string
		backends []authn.Authenticator
		want     authn.Result
		labels   auth.Labels
		wantErr  error
		wantLog  string
	}{
		{"empty chain: no match", nil, authn.NoMatch, nil, nil, ""},
		{"all no match: no match", []authn.Authenticator{skip, skip}, authn.NoMatch, nil, nil, ""},
		{"no match passes on", []authn.Authenticator{skip, yes}, authn.Accepted, auth.Labels{"from": {"yes"}, auth.LabelSource: {"yes"}}, nil, ""},
		{"wrong password stops", []authn.Authenticator{no, yes}, authn.WrongPassword, nil, nil, ""},
		{"first accept wins", []authn.Authenticator{yes, no}, authn.Accepted, auth.Labels{"from": {"yes"}, auth.LabelSource: {"yes"}}, nil, ""},
		{"error stops and denies", []authn.Authenticator{skip, down, yes}, authn.WrongPassword, nil, errDown, "backend=down"},
		{"invalid result is an error", []authn.Authenticator{bogus, yes}, authn.WrongPassword, nil, nil, "invalid result"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			c := authn.NewChain(slog.New(slog.NewTextHandler(&logs, nil)), tc.backends...)
			res, labels, err := c.Authenticate(context.Background(), "alice", "hunter2")
			if res != tc.want {
				t.Errorf("result = %v, want %v", res, tc.want)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) || tc.wantErr == nil && tc.wantLog == "" && err != nil {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.labels, labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log %q does not contain %q", logs.String(), tc.wantLog)
			}
			if strings.Contains(logs.String(), "hunter2") || err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the password leaked: %q %v", logs.String(), err)
			}
		})
	}
	if got := authn.NewChain(nil, yes, no).Name(); got != "chain(yes, no)" {
		t.Errorf("Name = %q", got)
	}
}

func TestChainCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, _, err := authn.NewChain(nil, fake{name: "yes", res: authn.Accepted}).Authenticate(ctx, "a", "b")
	if res == authn.Accepted || !errors.Is(err, context.Canceled) {
		t.Errorf("%v, %v", res, err)
	}
}

func TestResultString(t *testing.T) {
	t.Parallel()
	got := []string{authn.Accepted.String(), authn.WrongPassword.String(), authn.NoMatch.String(), authn.Result(9).String()}
	want := []string{"accepted", "wrong password", "no match", "Result(9)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	var zero authn.Result
	if zero != authn.WrongPassword {
		t.Error("the zero Result must deny")
	}
}

func TestCloneLabels(t *testing.T) {
	t.Parallel()
	orig := auth.Labels{"g": {"a"}}
	c := authn.CloneLabels(orig)
	c["g"][0] = "b"
	c["h"] = nil
	if diff := cmp.Diff(auth.Labels{"g": {"a"}}, orig); diff != "" {
		t.Error(diff)
	}
	if authn.CloneLabels(nil) != nil {
		t.Error("nil must stay nil")
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { _ = authn.CloneLabels(orig) })
	}
	wg.Wait()
}
