package cli

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wharf/internal/metadata"
)

// TestGCCommand: a run on a data directory prints its summary (or JSON),
// and a run while another collector holds the lease fails naming it.
func TestGCCommand(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	// A data directory that does not exist (a typo) is refused, not made.
	missing := filepath.Join(data, "typo")
	wantFail(t, "", "is not a wharf data directory", "gc", "--data", missing)
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("gc made the missing data directory: %v", err)
	}
	mustCLI(t, "", "user", "ls", "--data", data) // the database, as the server makes it
	if err := os.MkdirAll(filepath.Join(data, "blobs"), 0o700); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, "", "gc", "--data", data, "--dry-run")
	for _, want := range []string{"blobs      0 unreferenced would delete", "uploads    0 abandoned would delete", "bytes      0 B would free"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	out = mustCLI(t, "", "gc", "--data", data, "--json", "--delete-untagged")
	var res struct {
		DryRun         bool   `json:"dry_run"`
		DeleteUntagged bool   `json:"delete_untagged"`
		BlobsDeleted   *int   `json:"blobs_deleted"`
		Error          string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.DryRun || !res.DeleteUntagged || res.BlobsDeleted == nil || res.Error != "" {
		t.Errorf("--json printed %q (%v)", out, err)
	}

	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(data, "wharf.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	if _, err := meta.AcquireLease(t.Context(), "gc", "wharf serve on replica-7 (pid 1)", time.Minute); err != nil {
		t.Fatal(err)
	}
	wantFail(t, "", "another garbage collection is running (metadata: gc is held by wharf serve on replica-7 (pid 1) until", "gc", "--data", data)
}
