// Package authztest is the conformance suite every authz.Authorizer runs,
// as authntest is for authenticators: each backend is built holding the
// same policy (Policy, docker_auth's rule shape) in its own form (a YAML
// ACL, database rules, MongoDB documents, SQL rows, a webhook, a program)
// and must decide the same requests the same way.
//
// It imports authz, auth and yaml only; backends' tests import it.
package authztest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
)

// Policy is what every authorizer under test holds, first match wins:
// admin may do anything; alice may pull and push team/*; bob may pull
// team/app; mallory is denied everything; a logged-in account whose label
// group holds ops may do anything on ops/*; the anonymous account may pull
// public/*. Anything else matches no rule.
const Policy = `
- match: {account: admin}
  actions: ["*"]
- match: {account: alice, name: "team/*"}
  actions: [pull, push]
- match: {account: bob, name: team/app}
  actions: [pull]
- match: {account: mallory}
  actions: []
- match: {account: "/.+/", name: "ops/*", labels: {group: ops}}
  actions: ["*"]
- match: {account: "", name: "public/*"}
  actions: [pull]
`

// Rules are Policy as parsed rules, for backends built from authz.Rule.
func Rules(t testing.TB) []authz.Rule {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(Policy), &n); err != nil {
		t.Fatal(err)
	}
	rules, err := authz.ParseACL(&n)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// Entries are Policy as docker_auth's stored entries (match, actions), in
// order, for backends that keep rules as documents or rows.
func Entries(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := yaml.Unmarshal([]byte(Policy), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Contract states how a backend answers beyond the common rules.
type Contract struct {
	// AllOrNothing: the backend grants every requested action or none
	// (ext_authz's exit codes), so a request partly allowed gets nothing.
	AllOrNothing bool
	// Unmatched is the answer to a request no rule matches:
	// authz.ErrNoMatch (the chain asks the next authorizer), or nil for a
	// backend that decides everything and denies it (an empty grant).
	Unmatched error
}

// NewFunc builds a fresh authorizer holding Policy.
type NewFunc func(t *testing.T) authz.Authorizer

// request is one question of the suite and its answer under Policy.
type request struct {
	name    string
	account string
	labels  auth.Labels
	repo    string
	actions []string
	// allowed is the grant; unmatched means no rule matches.
	allowed   []string
	unmatched bool
}

var requests = []request{
	{name: "admin may do anything", account: "admin", repo: "x/y", actions: []string{"pull", "push", "delete"}, allowed: []string{"pull", "push", "delete"}},
	{name: "alice in her namespace", account: "alice", repo: "team/web", actions: []string{"pull", "push"}, allowed: []string{"pull", "push"}},
	{name: "alice may not delete", account: "alice", repo: "team/web", actions: []string{"delete"}, allowed: []string{}},
	{name: "alice pushes and deletes", account: "alice", repo: "team/web", actions: []string{"push", "delete"}, allowed: []string{"push"}},
	{name: "alice elsewhere", account: "alice", repo: "other/web", actions: []string{"pull"}, unmatched: true},
	{name: "bob pulls", account: "bob", repo: "team/app", actions: []string{"pull"}, allowed: []string{"pull"}},
	{name: "bob pushes too", account: "bob", repo: "team/app", actions: []string{"pull", "push"}, allowed: []string{"pull"}},
	{name: "bob's glob does not cross /", account: "bob", repo: "team/app/sub", actions: []string{"pull"}, unmatched: true},
	{name: "mallory is denied", account: "mallory", repo: "team/web", actions: []string{"pull"}, allowed: []string{}},
	{name: "carol in ops by label", account: "carol", labels: auth.Labels{"group": {"dev", "ops"}}, repo: "ops/db", actions: []string{"pull", "push"}, allowed: []string{"pull", "push"}},
	{name: "carol without the label", account: "carol", labels: auth.Labels{"group": {"dev"}}, repo: "ops/db", actions: []string{"pull"}, unmatched: true},
	{name: "the anonymous account pulls public", account: "", repo: "public/x", actions: []string{"pull"}, allowed: []string{"pull"}},
	{name: "the anonymous account pushes public", account: "", repo: "public/x", actions: []string{"push"}, allowed: []string{}},
	{name: "the anonymous account elsewhere", account: "", repo: "team/web", actions: []string{"pull"}, unmatched: true},
	{name: "the anonymous account with ops labels", account: "", labels: auth.Labels{"group": {"ops"}}, repo: "ops/db", actions: []string{"pull"}, unmatched: true},
}

func (r request) req() auth.Request {
	return auth.Request{
		Identity: auth.Identity{Account: r.account, Labels: r.labels},
		Service:  "wharf",
		Access:   auth.Access{Type: auth.TypeRepository, Name: r.repo, Actions: slices.Clone(r.actions)},
	}
}

// want is the answer the contract expects for r.
func (c Contract) want(r request) ([]string, error) {
	switch {
	case r.unmatched && c.Unmatched != nil:
		return nil, c.Unmatched
	case r.unmatched:
		return []string{}, nil
	case c.AllOrNothing && len(r.allowed) != len(r.actions):
		return []string{}, nil
	}
	return r.allowed, nil
}

// check compares one answer with the contract's.
func (c Contract) check(r request, got []string, err error) error {
	want, wantErr := c.want(r)
	if wantErr != nil {
		if !errors.Is(err, wantErr) || got != nil {
			return fmt.Errorf("%s: %v, %v; want no grant and %v", r.name, got, err, wantErr)
		}
		return nil
	}
	if err != nil || got == nil || !sameSet(got, want) {
		return fmt.Errorf("%s: %v, %v; want %v (a decision)", r.name, got, err, want)
	}
	for _, a := range got {
		if !slices.Contains(r.actions, a) {
			return fmt.Errorf("%s: granted %q, which was not asked for", r.name, a)
		}
	}
	return nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// Run runs the suite against authorizers built by newAuthorizer.
func Run(t *testing.T, c Contract, newAuthorizer NewFunc) {
	t.Helper()
	ctx := context.Background()

	t.Run("Decisions", func(t *testing.T) {
		a := newAuthorizer(t)
		for _, r := range requests {
			got, err := a.Authorize(ctx, r.req())
			if err := c.check(r, got, err); err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("RequestUnchanged", func(t *testing.T) {
		a := newAuthorizer(t)
		r := requests[3] // alice asks for push and delete
		req := r.req()
		labels := auth.Labels{"group": {"ops"}}
		req.Identity.Labels = labels
		if _, err := a.Authorize(ctx, req); err != nil && !errors.Is(err, authz.ErrNoMatch) {
			t.Fatal(err)
		}
		if !slices.Equal(req.Access.Actions, r.actions) || len(labels) != 1 || !slices.Equal(labels["group"], []string{"ops"}) {
			t.Errorf("the authorizer changed the request: %v %v", req.Access.Actions, labels)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		a := newAuthorizer(t)
		var wg sync.WaitGroup
		errs := make(chan error, 4*len(requests))
		for range 4 {
			for _, r := range requests {
				wg.Go(func() {
					got, err := a.Authorize(ctx, r.req())
					if err := c.check(r, got, err); err != nil {
						errs <- err
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("Name", func(t *testing.T) {
		if newAuthorizer(t).Name() == "" {
			t.Error("Name is empty")
		}
	})
}
