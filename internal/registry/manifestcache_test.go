package registry_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/registry"
	"wharf/internal/storage/memory"
	"wharf/internal/testserver"
)

// replicaPair is two registries on one database and one blob store, as two
// replicas, or a server and the `wharf` CLI, are: regs[i] on metas[i];
// path is the database file.
type replicaPair struct {
	regs  [2]*registry.Registry
	metas [2]*metadata.Store
	path  string
}

func newReplicaPair(t *testing.T) replicaPair { return newReplicaPairTB(t) }

func newReplicaPairTB(t testing.TB) replicaPair {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wharf.db")
	p := newReplicaPairOn(t, "sqlite", path)
	p.path = path
	return p
}

// newReplicaPairOn is a replicaPair on the database driver and dsn name.
func newReplicaPairOn(t testing.TB, driver, dsn string) replicaPair {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	blobs := memory.New()
	var p replicaPair
	for i := range p.regs {
		meta, err := metadata.Open(t.Context(), driver, dsn, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { meta.Close() })
		p.metas[i] = meta
		p.regs[i] = registry.New(blobs, meta, log, registry.Options{})
	}
	return p
}

// backends opens a replicaPair on SQLite and, unless -short, on a
// PostgreSQL server (a database of its own for each call): on SQLite the
// caches follow the file's change generation, on PostgreSQL the
// repositories' versions.
func backends(t *testing.T) map[string]func(t *testing.T) replicaPair {
	b := map[string]func(t *testing.T) replicaPair{"sqlite": newReplicaPair}
	if !testing.Short() {
		pg := testserver.StartPostgres(t)
		b["postgres"] = func(t *testing.T) replicaPair { return newReplicaPairOn(t, "postgres", pg.NewDatabase(t)) }
	}
	return b
}

// index is an OCI index that references nothing, made distinct by n.
func index(n int) []byte {
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[],"annotations":{"n":"%d"}}`, registry.MediaTypeOCIIndex, n)
}

func push(t *testing.T, reg *registry.Registry, repo, ref string, payload []byte) digest.Digest {
	t.Helper()
	res, err := reg.PutManifest(t.Context(), repo, ref, registry.MediaTypeOCIIndex, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.Digest
}

// TestManifestCacheInvalidation serves a tag from the first registry (which
// caches it), changes it through the first or the second registry, and
// checks that the first one's next answer is the new state: a moved tag
// names the new manifest, a deleted tag or manifest is unknown, and a
// repository deleted and pushed again (whose row may take the old id)
// serves what was pushed last.
func TestManifestCacheInvalidation(t *testing.T) {
	t.Parallel()
	const repo = "team/app"
	tests := []struct {
		name   string
		change func(t *testing.T, w *registry.Registry, meta *metadata.Store, first digest.Digest) digest.Digest // the tag's new digest, "" when gone
	}{
		{"tag moved", func(t *testing.T, w *registry.Registry, meta *metadata.Store, _ digest.Digest) digest.Digest {
			return push(t, w, repo, "v1", index(2))
		}},
		{"tag deleted", func(t *testing.T, w *registry.Registry, meta *metadata.Store, _ digest.Digest) digest.Digest {
			if err := w.DeleteManifest(t.Context(), repo, "v1"); err != nil {
				t.Fatal(err)
			}
			return ""
		}},
		{"manifest deleted", func(t *testing.T, w *registry.Registry, meta *metadata.Store, first digest.Digest) digest.Digest {
			if err := w.DeleteManifest(t.Context(), repo, first.String()); err != nil {
				t.Fatal(err)
			}
			return ""
		}},
		{"repository deleted and pushed again", func(t *testing.T, w *registry.Registry, meta *metadata.Store, _ digest.Digest) digest.Digest {
			if _, err := meta.DeleteRepository(t.Context(), repo); err != nil {
				t.Fatal(err)
			}
			return push(t, w, repo, "v1", index(3))
		}},
	}
	for backend, open := range backends(t) {
		for _, tc := range tests {
			for w, where := range []string{"this registry", "another registry on the database"} {
				t.Run(backend+"/"+tc.name+" by "+where, func(t *testing.T) {
					t.Parallel()
					p := open(t)
					a := p.regs[0]
					first := push(t, a, repo, "v1", index(1))
					for _, payload := range []bool{false, true} { // HEAD, then GET
						m, err := a.ServeManifest(t.Context(), repo, "v1", payload)
						if err != nil || m.Digest != first {
							t.Fatalf("before the change: %v, %v; want %s", m, err, first)
						}
					}
					want := tc.change(t, p.regs[w], p.metas[w], first)
					for _, payload := range []bool{false, true} {
						m, err := a.ServeManifest(t.Context(), repo, "v1", payload)
						switch {
						case want == "" && !errors.Is(err, registry.ErrManifestUnknown):
							t.Errorf("after the change (payload %v): %v, %v; want ErrManifestUnknown", payload, m, err)
						case want != "" && (err != nil || m.Digest != want):
							t.Errorf("after the change (payload %v): %v, %v; want %s", payload, m, err, want)
						case want != "" && payload && digest.FromBytes(m.Payload) != want:
							t.Errorf("after the change: payload has digest %s, want %s", digest.FromBytes(m.Payload), want)
						}
					}
				})
			}
		}
	}
}

// TestManifestCacheServes checks that, on SQLite, a pull by tag is
// answered from memory while nothing is committed (a handful of
// allocations, where a read of the database makes dozens: counts, not
// times), and that any commit, even one that rewrites a tag row behind the
// registries' back without the version bump every real change makes, is
// seen at the next request.
func TestManifestCacheServes(t *testing.T) {
	const repo = "team/app"
	p := newReplicaPair(t)
	a := p.regs[0]
	first := push(t, a, repo, "v1", index(1))
	second := push(t, a, repo, "other", index(2))
	serve := func() *metadata.Manifest {
		t.Helper()
		m, err := a.ServeManifest(t.Context(), repo, "v1", true)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := serve(); m.Digest != first {
		t.Fatalf("v1 is %s, want %s", m.Digest, first)
	}
	miss := testing.AllocsPerRun(20, func() {
		if _, _, err := p.metas[0].LookupTagged(t.Context(), repo, "v1", true); err != nil {
			t.Fatal(err)
		}
	})
	hit := testing.AllocsPerRun(20, func() { serve() })
	t.Logf("allocations per manifest GET by tag: %.0f cached, %.0f reading the database", hit, miss)
	if hit > 3 || miss < 5*hit {
		t.Errorf("a cached GET allocates %.0f times, a read of the database %.0f: want at most 3, and a fifth of a read", hit, miss)
	}
	db, err := sql.Open("sqlite", p.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), `UPDATE tags SET manifest_id = (SELECT id FROM manifests WHERE digest = ?) WHERE name = 'v1'`, second.String()); err != nil {
		t.Fatal(err)
	}
	if m := serve(); m.Digest != second || digest.FromBytes(m.Payload) != second {
		t.Fatalf("after a commit that moved v1 without the version: %s, want %s", m.Digest, second)
	}
}

// TestBlobLinkCacheInvalidation reads a blob's link through the first
// registry (which caches it), unlinks or links it through the first or the
// second registry, and checks the first one's next answer.
func TestBlobLinkCacheInvalidation(t *testing.T) {
	t.Parallel()
	const repo, other = "team/app", "team/other"
	body := []byte("layer bytes")
	dgst := digest.FromBytes(body)
	for backend, open := range backends(t) {
		for w, where := range []string{"this registry", "another registry on the database"} {
			t.Run(backend+"/"+where, func(t *testing.T) {
				t.Parallel()
				p := open(t)
				a, writer := p.regs[0], p.regs[w]
				if _, err := a.FetchBlob(t.Context(), repo, dgst, int64(len(body)), bytesReader(body)); err != nil {
					t.Fatal(err)
				}
				for range 2 {
					if size, err := a.StatBlob(t.Context(), repo, dgst); err != nil || size != int64(len(body)) {
						t.Fatalf("linked: %d, %v; want %d", size, err, len(body))
					}
					if _, err := a.StatBlob(t.Context(), other, dgst); !errors.Is(err, registry.ErrBlobUnknown) {
						t.Fatalf("not linked in %s: %v; want ErrBlobUnknown", other, err)
					}
				}
				if err := writer.DeleteBlob(t.Context(), repo, dgst); err != nil {
					t.Fatal(err)
				}
				if _, err := a.StatBlob(t.Context(), repo, dgst); !errors.Is(err, registry.ErrBlobUnknown) {
					t.Errorf("after the unlink by %s: %v; want ErrBlobUnknown", where, err)
				}
				if _, err := writer.MountBlob(t.Context(), other, repo, dgst); !errors.Is(err, registry.ErrBlobUnknown) {
					t.Fatalf("mount from a repository that no longer links it: %v", err)
				}
				if _, err := writer.FetchBlob(t.Context(), other, dgst, int64(len(body)), bytesReader(body)); err != nil {
					t.Fatal(err)
				}
				if size, err := a.StatBlob(t.Context(), other, dgst); err != nil || size != int64(len(body)) {
					t.Errorf("after the link by %s: %d, %v; want %d", where, size, err, len(body))
				}
			})
		}
	}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// TestTagListAfterRecreate lists a repository's tags through the first
// registry (which caches the list), deletes the repository and pushes it
// again with another tag through either registry, and checks the next
// list is the new one: on SQLite the new row may take the old id, and its
// tag version starts over.
func TestTagListAfterRecreate(t *testing.T) {
	t.Parallel()
	const repo = "team/app"
	for w, where := range []string{"this registry", "another registry on the database"} {
		t.Run(where, func(t *testing.T) {
			t.Parallel()
			p := newReplicaPair(t)
			a := p.regs[0]
			push(t, a, repo, "old", index(1))
			if got, err := a.Tags(t.Context(), repo, "", 0); err != nil || len(got) != 1 || got[0] != "old" {
				t.Fatalf("before: %v, %v; want [old]", got, err)
			}
			if _, err := p.metas[w].DeleteRepository(t.Context(), repo); err != nil {
				t.Fatal(err)
			}
			push(t, p.regs[w], repo, "new", index(2))
			if got, err := a.Tags(t.Context(), repo, "", 0); err != nil || len(got) != 1 || got[0] != "new" {
				t.Errorf("after the repository was deleted and pushed again by %s: %v, %v; want [new]", where, got, err)
			}
		})
	}
}
