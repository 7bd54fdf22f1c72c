package registry_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/registry"
	"wharf/internal/storage/memory"
)

// fakeAdmission refuses pushes to "full" and records what it was told.
type fakeAdmission struct {
	released []bool
	forgot   []string
}

// refusal is what a quota answers.
type refusal string

func (r refusal) Error() string { return string(r) }
func (refusal) Denied() bool    { return true }

func (f *fakeAdmission) Admit(_ context.Context, m *metadata.Manifest) (func(bool), error) {
	switch m.Repo {
	case "full":
		return nil, refusal(`quota "full" of 1 B exceeded`)
	case "broken":
		return nil, errors.New("metadata: usage: database is locked")
	}
	return func(stored bool) { f.released = append(f.released, stored) }, nil
}

func (f *fakeAdmission) Forget(repo string) { f.forgot = append(f.forgot, repo) }

func (f *fakeAdmission) CheckBlob(repo string, size int64) error {
	if repo == "small" && size > 10 {
		return refusal(`quota "small" of 10 B: this blob alone is 11 B`)
	}
	return nil
}

// admittedRegistry is a registry over a fresh database and memory storage
// that asks adm (nil: no admission).
func admittedRegistry(t *testing.T, adm registry.Admission) *registry.Registry {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	return registry.New(memory.New(), meta, log, registry.Options{Admission: adm})
}

// unread fails the test if the upload reads the body of a refused chunk.
type unread struct{ t *testing.T }

func (u unread) Read([]byte) (int, error) {
	u.t.Error("the body of a refused upload was read")
	return 0, io.EOF
}

// TestAdmissionBlob: an upload whose announced size cannot fit is refused
// with ErrDenied before its body is read; one of unknown size passes.
func TestAdmissionBlob(t *testing.T) {
	reg := admittedRegistry(t, &fakeAdmission{})
	u, err := reg.StartUpload(t.Context(), "small")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.AppendUpload(t.Context(), "small", u.ID, 0, 6, strings.NewReader("012345")); err != nil {
		t.Fatal(err)
	}
	// 6 staged + 5 announced = 11: refused, in a chunk or at the end.
	if _, err := reg.AppendUpload(t.Context(), "small", u.ID, 6, 5, unread{t}); !errors.Is(err, registry.ErrDenied) {
		t.Errorf("chunk past the quota: %v, want ErrDenied", err)
	}
	d := digest.FromString("01234567890")
	if _, err := reg.FinishUpload(t.Context(), "small", u.ID, d, 6, 5, unread{t}); !errors.Is(err, registry.ErrDenied) {
		t.Errorf("last chunk past the quota: %v, want ErrDenied", err)
	}
	// The upload is intact: what fits still finishes.
	d = digest.FromString("0123456789")
	if n, err := reg.FinishUpload(t.Context(), "small", u.ID, d, 6, 4, strings.NewReader("6789")); err != nil || n != 10 {
		t.Errorf("FinishUpload within the quota = %d, %v", n, err)
	}
}

// TestAdmission: a refused push is ErrDenied with the admission's reason
// and stores nothing; an admitted one is released as stored; a manifest
// delete is forgotten.
func TestAdmission(t *testing.T) {
	adm := &fakeAdmission{}
	reg := admittedRegistry(t, adm)
	const mt = "application/vnd.oci.image.index.v1+json"
	payload := []byte(`{"schemaVersion":2,"mediaType":"` + mt + `","manifests":[]}`)

	_, err := reg.PutManifest(t.Context(), "full", "v1", mt, payload, nil)
	if !errors.Is(err, registry.ErrDenied) || err.Error() != `registry: quota "full" of 1 B exceeded` {
		t.Fatalf("refused push: %v, want ErrDenied with the reason", err)
	}
	// A failure to decide is no refusal: the client gets no detail.
	_, err = reg.PutManifest(t.Context(), "broken", "v1", mt, payload, nil)
	if err == nil || errors.Is(err, registry.ErrDenied) {
		t.Errorf("push the admission failed to decide: %v, want an error other than ErrDenied", err)
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
