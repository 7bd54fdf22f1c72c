package metadata

import (
	"math/bits"
	"strings"
	"sync"
)

// multiRowInsert is the text of the INSERTs of 2^k rows into one table,
// built once for each k, with ? placeholders and with PostgreSQL's:
// rebinding thousands of placeholders on every batch cost more than the
// rows. A batch of n rows takes one statement per bit of n (see
// powerOfTwoAtMost), so a statement cache holds at most one text per power
// of two, each parsed once.
type multiRowInsert struct {
	head, row string // "INSERT INTO t (a, b) VALUES ", "(?, ?)"
	sizes     [16]struct {
		once, rebound sync.Once
		text, dollar  string
	}
}

// newMultiRowInsert returns the INSERTs into table's cols whose every row
// is row, e.g. "(?, ?, 0)".
func newMultiRowInsert(table, cols, row string) *multiRowInsert {
	return &multiRowInsert{head: "INSERT INTO " + table + " (" + cols + ") VALUES ", row: row}
}

// text returns the INSERT of n rows, n a power of two below 2^16, for c's
// database.
func (m *multiRowInsert) text(c conn, n int) string {
	s := &m.sizes[bits.TrailingZeros(uint(n))]
	s.once.Do(func() {
		var b strings.Builder
		b.Grow(len(m.head) + n*(len(m.row)+2))
		b.WriteString(m.head)
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(m.row)
		}
		s.text = b.String()
	})
	if c.d.rebind == nil {
		return s.text
	}
	s.rebound.Do(func() { s.dollar = c.rebind(s.text) })
	return s.dollar
}

// powerOfTwoAtMost is the largest power of two not above n (at least 1)
// nor max: the size of the next multi-row INSERT of a batch of n rows.
func powerOfTwoAtMost(n, max int) int {
	return min(1<<(bits.Len(uint(n))-1), max)
}
