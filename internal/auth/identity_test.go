package auth_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth"
)

func TestReservedLabels(t *testing.T) {
	t.Parallel()
	l := auth.Labels{"team": {"dev"}, auth.LabelSource: {"ldap"}, auth.LabelStamp: {"s"}, "wharf.x": {"y"}}
	if got := l.Source(); got != "ldap" {
		t.Errorf("Source = %q", got)
	}
	if diff := cmp.Diff(auth.Labels{"team": {"dev"}}, l.WithoutReserved()); diff != "" {
		t.Errorf("WithoutReserved (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(auth.Labels{"team": {"dev"}, auth.LabelSource: {"ldap"}, "wharf.x": {"y"}}, l.Without(auth.LabelStamp)); diff != "" {
		t.Errorf("Without (-want +got):\n%s", diff)
	}
	if len(l) != 4 {
		t.Errorf("the labels were changed: %v", l)
	}
	for _, l := range []auth.Labels{nil, {auth.LabelSource: {"a", "b"}}} {
		if l.Source() != "" {
			t.Errorf("Source(%v) = %q, want none", l, l.Source())
		}
	}
}
