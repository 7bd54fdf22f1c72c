package memory_test

import (
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
	"wharf/internal/storage/memory"
	"wharf/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Driver { return memory.New() })
}

func TestUploadIDs(t *testing.T) {
	d := memory.New()
	ids := []string{"bbbbbbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaaaaaa"}
	for _, id := range ids {
		w, err := d.Upload(t.Context(), id, -1)
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	storagetest.Put(t, d, digest.SHA256, []byte("committed uploads are not listed"))
	got, err := d.UploadIDs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != ids[1] || got[1] != ids[0] {
		t.Errorf("UploadIDs = %v, want %v sorted", got, ids)
	}
}
