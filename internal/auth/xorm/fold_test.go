package xorm

import "testing"

func TestFoldKeys(t *testing.T) {
	t.Parallel()
	m, err := foldKeys(map[string]any{"Match": map[string]any{"Account": "a", "labels": map[string]any{"Group": "x"}},
		"Actions": []any{"pull"}, "Comment": nil})
	if err != nil {
		t.Fatal(err)
	}
	match := m["match"].(map[string]any)
	if match["account"] != "a" || match["labels"].(map[string]any)["Group"] != "x" {
		t.Errorf("folded: %v", m)
	}
	if _, err := foldKeys(map[string]any{"match": 1, "Match": 2}); err == nil {
		t.Error("keys differing in case only: no error")
	}
}
