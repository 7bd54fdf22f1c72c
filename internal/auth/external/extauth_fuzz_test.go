package external

import (
	"testing"
)

// FuzzParseLabels: whatever a program prints, parsing never panics, and
// what it accepts has named labels.
func FuzzParseLabels(f *testing.F) {
	for _, s := range []string{``, `{"labels": {"level": ["max"], "groups": ["VIP", "ATeam"]}}`, `{"labels": {"a": "b"}}`,
		`{"labels": null}`, `{"labels": {"": ["x"]}}`, `[]`, `{"labels": {"a": [1]}} x`, "\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, stdout []byte) {
		labels, err := parseLabels(stdout)
		if err != nil {
			if labels != nil {
				t.Fatalf("labels %v with error %v", labels, err)
			}
			return
		}
		for k := range labels {
			if k == "" {
				t.Fatalf("accepted a label without a name from %q", stdout)
			}
		}
	})
}
