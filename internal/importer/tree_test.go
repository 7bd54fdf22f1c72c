package importer_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// tree writes a registry:2 storage tree the way distribution's filesystem
// driver lays it out (registry/storage/paths.go), for tests.
type tree struct {
	t    testing.TB
	root string // the storage root (rootdirectory)
}

func newTree(t testing.TB) *tree {
	t.Helper()
	tr := &tree{t: t, root: t.TempDir()}
	tr.mkdir("blobs")
	tr.mkdir("repositories")
	return tr
}

// v2 is the path of rel below docker/registry/v2.
func (tr *tree) v2(rel ...string) string {
	return filepath.Join(append([]string{tr.root, "docker", "registry", "v2"}, rel...)...)
}

func (tr *tree) mkdir(rel ...string) {
	tr.t.Helper()
	if err := os.MkdirAll(tr.v2(rel...), 0o755); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *tree) write(content []byte, rel ...string) {
	tr.t.Helper()
	p := tr.v2(rel...)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		tr.t.Fatal(err)
	}
}

// blobPath is where distribution keeps the bytes of d, below v2.
func blobPath(d digest.Digest) []string {
	return []string{"blobs", "sha256", d.Encoded()[:2], d.Encoded(), "data"}
}

// blob stores content in the blob store.
func (tr *tree) blob(content []byte) digest.Digest {
	d := digest.FromBytes(content)
	tr.write(content, blobPath(d)...)
	return d
}

func repoPath(repo string, rel ...string) []string {
	return append(append([]string{"repositories"}, strings.Split(repo, "/")...), rel...)
}

// layer links d into repo (_layers), as a blob push does.
func (tr *tree) layer(repo string, d digest.Digest) {
	tr.write([]byte(d.String()), repoPath(repo, "_layers", "sha256", d.Encoded(), "link")...)
}

// manifest stores payload and links it as a revision of repo, with tags.
func (tr *tree) manifest(repo string, payload []byte, tags ...string) digest.Digest {
	d := tr.blob(payload)
	tr.write([]byte(d.String()), repoPath(repo, "_manifests", "revisions", "sha256", d.Encoded(), "link")...)
	for _, tag := range tags {
		tr.tag(repo, tag, d)
	}
	return d
}

func (tr *tree) tag(repo, tag string, d digest.Digest) {
	tr.write([]byte(d.String()), repoPath(repo, "_manifests", "tags", tag, "current", "link")...)
	tr.write([]byte(d.String()), repoPath(repo, "_manifests", "tags", tag, "index", "sha256", d.Encoded(), "link")...)
}

type descriptor struct {
	MediaType string            `json:"mediaType"`
	Digest    digest.Digest     `json:"digest"`
	Size      int64             `json:"size"`
	Platform  map[string]string `json:"platform,omitempty"`
}

const (
	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	ociIndex    = "application/vnd.oci.image.index.v1+json"
)

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// image pushes a one-layer image into repo: its config and layer linked,
// its manifest stored with tags. seed makes its bytes unique.
func (tr *tree) image(repo, seed string, tags ...string) (digest.Digest, []byte) {
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"seed":"` + seed + `"}`)
	layer := []byte("layer bytes of " + seed)
	cd, ld := tr.blob(cfg), tr.blob(layer)
	tr.layer(repo, cd)
	tr.layer(repo, ld)
	payload := mustJSON(tr.t, map[string]any{
		"schemaVersion": 2, "mediaType": ociManifest,
		"config": descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: cd, Size: int64(len(cfg))},
		"layers": []descriptor{{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: ld, Size: int64(len(layer))}},
	})
	return tr.manifest(repo, payload, tags...), payload
}

// index pushes an image index of children into repo.
func (tr *tree) index(repo string, children map[digest.Digest][]byte, tags ...string) digest.Digest {
	var ds []descriptor
	for d, p := range children {
		ds = append(ds, descriptor{MediaType: ociManifest, Digest: d, Size: int64(len(p)), Platform: map[string]string{"os": "linux", "architecture": "amd64"}})
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Digest < ds[j].Digest })
	return tr.manifest(repo, mustJSON(tr.t, map[string]any{"schemaVersion": 2, "mediaType": ociIndex, "manifests": ds}), tags...)
}

// referrer pushes an artifact whose subject is the manifest subject.
func (tr *tree) referrer(repo string, subject digest.Digest, subjectPayload []byte) digest.Digest {
	empty := []byte("{}")
	sig := []byte("a signature")
	ed, sd := tr.blob(empty), tr.blob(sig)
	tr.layer(repo, ed)
	tr.layer(repo, sd)
	return tr.manifest(repo, mustJSON(tr.t, map[string]any{
		"schemaVersion": 2, "mediaType": ociManifest, "artifactType": "application/vnd.example.signature",
		"config":  descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: ed, Size: 2},
		"layers":  []descriptor{{MediaType: "application/vnd.example.signature", Digest: sd, Size: int64(len(sig))}},
		"subject": descriptor{MediaType: ociManifest, Digest: subject, Size: int64(len(subjectPayload))},
	}))
}

// snapshot fingerprints every name, mode, size and content below root, to
// show that an import wrote nothing into the tree it read.
func snapshot(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.Mode().String())
		if fi.Mode().IsRegular() {
			c, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(c)
			b.WriteString(" " + hex.EncodeToString(sum[:]))
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
