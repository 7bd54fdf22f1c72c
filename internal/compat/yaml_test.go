package compat

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestIsSet(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"a: 1":                  true,
		"a: ''":                 false,
		"a: ~":                  false,
		"a: false":              false,
		"a: 'false'":            true, // quoted: a string
		"a: {b: {c: off}}":      false,
		"a: {b: [x]}":           true,
		"a: &x {b: *x, c: *x}":  false, // an alias cycle ends, visited once
		"a: &x {b: *x, c: [1]}": true,
		"a: [~]":                true, // any list entry counts
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(in), &doc); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := IsSet(doc.Content[0].Content[1]); got != want {
			t.Errorf("IsSet(%s) = %v, want %v", in, got, want)
		}
	}
}
