package registry_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"wharf/internal/metadata"
	"wharf/internal/registry"
	"wharf/internal/storage/memory"
)

// fakeAdmission refuses pushes to "full" and records what it was told.
type fakeAdmission struct {
	released []bool
	forgot   []string
}

func (f *fakeAdmission) Admit(_ context.Context, m *metadata.Manifest) (func(bool), error) {
	if m.Repo == "full" {
		return nil, errors.New(`quota "full" of 1 B exceeded`)
	}
	return func(stored bool) { f.released = append(f.released, stored) }, nil
}

func (f *fakeAdmission) Forget(repo string) { f.forgot = append(f.forgot, repo) }

// TestAdmission: a refused push is ErrDenied with the admission's reason
// and stores nothing; an admitted one is released as stored; a manifest
// delete is forgotten.
func TestAdmission(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	adm := &fakeAdmission{}
	reg := registry.New(memory.New(), meta, log, registry.Options{Admission: adm})
	const mt = "application/vnd.oci.image.index.v1+json"
	payload := []byte(`{"schemaVersion":2,"mediaType":"` + mt + `","manifests":[]}`)

	_, err = reg.PutManifest(t.Context(), "full", "v1", mt, payload, nil)
	if !errors.Is(err, registry.ErrDenied) || err.Error() != `registry: quota "full" of 1 B exceeded` {
		t.Fatalf("refused push: %v, want ErrDenied with the reason", err)
	}
	if _, err := reg.Tags(t.Context(), "full", "", 0); !errors.Is(err, registry.ErrNameUnknown) {
		t.Errorf("a refused push created the repository: %v", err)
	}
	res, err := reg.PutManifest(t.Context(), "ok", "v1", mt, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(adm.released) != 1 || !adm.released[0] {
		t.Errorf("released %v, want [true]", adm.released)
	}
	if err := reg.DeleteManifest(t.Context(), "ok", res.Digest.String()); err != nil {
		t.Fatal(err)
	}
	if len(adm.forgot) != 1 || adm.forgot[0] != "ok" {
		t.Errorf("forgot %v, want [ok]", adm.forgot)
	}
}
