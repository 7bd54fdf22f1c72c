package errcode_test

import (
	"net/http"
	"strings"
	"testing"

	"wharf/internal/errcode"
)

// TestTable: every entry is complete, and a value and a status name one
// entry of a family, so that an answer's code and status find their
// entry.
func TestTable(t *testing.T) {
	t.Parallel()
	seen := map[string]errcode.Code{}
	for i, d := range errcode.Descriptors() {
		if d.Code != errcode.Code(i) {
			t.Errorf("entry %d has code %d", i, d.Code)
		}
		if d.Value == "" || d.Message == "" || http.StatusText(d.Status) == "" || d.Status < 400 {
			t.Errorf("entry %d (%+v) is incomplete", i, d)
		}
		switch d.Family {
		case errcode.Registry:
			if strings.ToUpper(d.Value) != d.Value {
				t.Errorf("registry code %q is not upper case, as the OCI spec's are", d.Value)
			}
		case errcode.Admin, errcode.Page:
			if strings.ToLower(d.Value) != d.Value {
				t.Errorf("%s code %q is not lower case", d.Family, d.Value)
			}
		default:
			t.Errorf("entry %d has no family", i)
		}
		key := d.Family.String() + " " + d.Value + " " + http.StatusText(d.Status)
		if other, dup := seen[key]; dup {
			t.Errorf("codes %d and %d are both %s", other, d.Code, key)
		}
		seen[key] = d.Code
		if got, ok := errcode.Lookup(d.Family, d.Value, d.Status); !ok || got.Code != d.Code {
			t.Errorf("Lookup(%s, %s, %d) = %v, %v; want code %d", d.Family, d.Value, d.Status, got, ok, d.Code)
		}
	}
	if _, ok := errcode.Lookup(errcode.Registry, "BLOB_UNKNOWN", http.StatusBadRequest); ok {
		t.Error("BLOB_UNKNOWN with 400 found; the table has it with 404 only")
	}
	if _, ok := errcode.Lookup(errcode.Admin, "BLOB_UNKNOWN", http.StatusNotFound); ok {
		t.Error("a registry code found in the admin family")
	}
	if got := errcode.Code(-5).Descriptor(); got.Code != errcode.Unknown {
		t.Errorf("a code outside the table describes as %v; want Unknown", got)
	}
	var zero errcode.Error
	if zero.Status() != http.StatusInternalServerError {
		t.Errorf("the zero Error answers %d; want 500 (an unclassified failure is the server's)", zero.Status())
	}
}
