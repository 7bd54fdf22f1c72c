package cli

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestMigrateStorageRefusals: a wrong storage spec is a wrong command line
// (exit 2) that names the fix, and creates nothing.
func TestMigrateStorageRefusals(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	src := filepath.Join(data, "blobs")
	if err := os.MkdirAll(filepath.Join(src, "blobs"), 0o700); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "new")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"s3 option", []string{"--from", "filesystem:" + src, "--to", "s3:bucket/wharf?endpoint=http://127.0.0.1:1&secretkey=x"}, exitUsage, `unknown option "secretkey"`},
		{"no kind", []string{"--from", src, "--to", "filesystem:" + dst}, exitUsage, "want KIND:ARG"},
		{"same", []string{"--from", "filesystem:" + src, "--to", "filesystem:" + src}, exitUsage, "name the same storage"},
		{"data directory", []string{"--from", "filesystem:" + data, "--to", "filesystem:" + dst}, exitUsage, "its storage is filesystem:" + src},
		{"jobs", []string{"--from", "filesystem:" + src, "--to", "filesystem:" + dst, "--jobs", "0"}, exitUsage, "--jobs 0"},
		{"missing source", []string{"--from", "filesystem:" + dst, "--to", "filesystem:" + src}, exitFailure, "no blobs/ directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := Run(t.Context(), append([]string{"migrate-storage"}, tc.args...), &stdout, &stderr)
			if code != tc.code || !bytes.Contains(stderr.Bytes(), []byte(tc.want)) {
				t.Errorf("exit %d, want %d; stderr does not say %q:\n%s", code, tc.code, tc.want, stderr.String())
			}
		})
	}
	if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused command created %s: %v", dst, err)
	}
}
