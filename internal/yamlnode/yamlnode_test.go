package yamlnode

import (
	"strings"
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

// Resolve follows aliases and documents, and ends an alias cycle with nil.
func TestResolve(t *testing.T) {
	t.Parallel()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("a: &x [1]\nb: *x\n"), &doc); err != nil {
		t.Fatal(err)
	}
	b := doc.Content[0].Content[3]
	if got := Resolve(b); got == nil || got.Kind != yaml.SequenceNode {
		t.Errorf("Resolve(alias) = %v", got)
	}
	if Resolve(&yaml.Node{Kind: yaml.DocumentNode}) != nil {
		t.Error("an empty document resolves to a node")
	}
	loop := &yaml.Node{Kind: yaml.AliasNode}
	loop.Alias = loop
	if Resolve(loop) != nil {
		t.Error("an alias cycle resolves to a node")
	}
	for in, want := range map[string]string{"a: ~": "nothing", "a: {b: 1}": "a mapping", "a: [1]": "a list", "a: x": `"x"`} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(in), &doc); err != nil {
			t.Fatal(err)
		}
		if got := Describe(doc.Content[0].Content[1]); got != want {
			t.Errorf("Describe(%s) = %q, want %q", in, got, want)
		}
	}
}

// Pairs reports repeated and unknown keys, with the closest valid one.
func TestPairs(t *testing.T) {
	t.Parallel()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("acount: x\nname: y\nname: z\n"), &doc); err != nil {
		t.Fatal(err)
	}
	var p Problems
	pairs, ok := Pairs(&p, &doc, "match", []string{"account", "name"})
	if !ok || len(pairs) != 1 || pairs[0].Key != "name" || pairs[0].Value.Value != "y" {
		t.Errorf("pairs %+v, %v", pairs, ok)
	}
	list := p.List()
	if len(list) != 2 || list[0].Line != 1 || !strings.Contains(list[0].Msg, `did you mean "account"?`) || !strings.Contains(list[1].Msg, "repeated (first at line 2)") {
		t.Errorf("problems %+v", list)
	}
	if err := p.TypeError("rule: "); err == nil || !strings.Contains(err.Error(), "line 1: rule: unknown key") {
		t.Errorf("TypeError = %v", err)
	}
}
