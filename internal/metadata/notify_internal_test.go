package metadata

import (
	"slices"
	"testing"
)

// TestNotifySplit: a flush takes one INSERT per bit of its row count, none
// over notifyMaxRows rows or notifyMaxBytes of bodies but for a single row
// that is larger alone.
func TestNotifySplit(t *testing.T) {
	t.Parallel()
	many := func(n, size int) []int { return slices.Repeat([]int{size}, n) }
	for _, tc := range []struct {
		name  string
		sizes []int
		want  []int // the statements' row counts
	}{
		{"one", []int{600}, []int{1}},
		{"a flush of 1000 small events", many(1000, 600), []int{512, 256, 128, 64, 32, 8}},
		{"past the rows of one statement", many(3000, 100), []int{1024, 1024, 512, 256, 128, 32, 16, 8}},
		{"large bodies", many(6, 1<<20), []int{4, 2}},
		{"one larger than a statement's bytes", append([]int{5 << 20}, many(3, 10)...), []int{1, 2, 1}},
		{"a large one after small ones", append(many(3, 10), 5<<20), []int{2, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ns []Notification
			for _, n := range tc.sizes {
				ns = append(ns, Notification{Body: make([]byte, n)})
			}
			var got []int
			for len(ns) > 0 {
				k := notifySplit(ns)
				if k < 1 {
					t.Fatalf("notifySplit = %d with %d rows left", k, len(ns))
				}
				got = append(got, k)
				ns = ns[k:]
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("statements: %v rows; want %v", got, tc.want)
			}
		})
	}
}
