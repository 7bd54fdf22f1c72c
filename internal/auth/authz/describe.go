package authz

import (
	"slices"
	"strconv"
	"strings"
)

// How rules are written for people: one line, in YAML flow style as in
// wharf.yml, the same in `wharf acl ls|check` and the web interface's
// checker.

// DescribeRule renders a rule on one line.
func DescribeRule(r Rule) string {
	s := "match " + DescribeMatch(r.Match) + " actions " + DescribeActions(r.Actions)
	if r.Comment != "" {
		s += " " + strconv.Quote(r.Comment)
	}
	return s
}

// DescribeMatch renders a match in YAML flow style, as in wharf.yml.
func DescribeMatch(m Match) string {
	var parts []string
	add := func(key string, v *string) {
		if v != nil {
			parts = append(parts, key+": "+yamlScalar(*v))
		}
	}
	add("account", m.Account)
	add("type", m.Type)
	add("name", m.Name)
	add("service", m.Service)
	add("ip", m.IP)
	if len(m.Labels) > 0 {
		keys := make([]string, 0, len(m.Labels))
		for k := range m.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var ls []string
		for _, k := range keys {
			ls = append(ls, k+": "+yamlScalar(m.Labels[k]))
		}
		parts = append(parts, "labels: {"+strings.Join(ls, ", ")+"}")
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// DescribeActions renders a rule's actions; [] is a deny.
func DescribeActions(a []string) string {
	if len(a) == 0 {
		return "[] (deny)"
	}
	return "[" + strings.Join(a, ", ") + "]"
}

// yamlScalar quotes a value unless it is plainly safe unquoted.
func yamlScalar(v string) string {
	if v == "" || strings.ContainsAny(v, "*?[]{}/$:#,&!|>'\"%@` ") {
		return strconv.Quote(v)
	}
	return v
}
