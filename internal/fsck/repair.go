package fsck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/atomicfile"
	"wharf/internal/metadata"
	"wharf/internal/storage"
)

// note is written beside a quarantined blob: why it is there.
type note struct {
	Digest       digest.Digest `json:"digest"`
	Kind         Kind          `json:"kind"`
	Detail       string        `json:"detail"`
	Repositories []string      `json:"repositories"`
	Tags         []string      `json:"tags"`
	At           time.Time     `json:"quarantined_at"`
}

// repair quarantines the corrupt blobs and untags what cannot be pulled.
// The bytes move first and the row goes after: were it the other way, a
// crash in between would leave corrupt bytes that the next push of the same
// digest is told already exist.
func (c *checker) repair(ctx context.Context) error {
	for i := range c.rep.Problems {
		p := &c.rep.Problems[i]
		switch p.Kind {
		case BlobMissing, BlobSize, BlobDigest, BlobUnreadable:
		default:
			continue
		}
		if p.Kind != BlobMissing {
			path, err := c.quarantine(ctx, p)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				// Bytes that cannot be copied out stay, and so does
				// their row: without it, the next push of the digest
				// would be told the corrupt bytes already exist.
				p.Repair = "not repaired: " + err.Error()
				c.log.Error("fsck: cannot quarantine a blob", "digest", p.Digest, "err", err)
				continue
			}
			p.Repair = "bytes moved to " + path
		}
		if _, err := c.meta.ForgetBlob(ctx, p.Digest); err != nil && !errors.Is(err, metadata.ErrNotFound) {
			return fmt.Errorf("fsck: repair %s: %w", p.Digest, err)
		}
		p.Repair = joinRepair(p.Repair, "row and links removed: the next push of it uploads it again")
		c.log.Warn("fsck: quarantined a blob", "digest", p.Digest, "kind", p.Kind, "repair", p.Repair)
	}
	for _, t := range c.broken {
		removed, err := c.meta.UntagIf(ctx, t.repo, t.tag, t.digest)
		if err != nil {
			return fmt.Errorf("fsck: untag %s:%s: %w", t.repo, t.tag, err)
		}
		if removed {
			c.rep.Untagged = append(c.rep.Untagged, t.repo+":"+t.tag)
			c.log.Warn("fsck: untagged a manifest that cannot be pulled", "repository", t.repo, "tag", t.tag, "digest", t.digest)
		}
	}
	return nil
}

func joinRepair(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// quarantine copies the blob's bytes under the quarantine directory with a
// note, durably, then deletes them from storage, and returns the copy's
// path. A copy rather than a rename: storage is a Driver, not a directory.
func (c *checker) quarantine(ctx context.Context, p *Problem) (string, error) {
	dir := filepath.Join(c.opts.Quarantine, string(p.Digest.Algorithm()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("fsck: quarantine: %w", err)
	}
	path := filepath.Join(dir, p.Digest.Encoded())
	b, err := c.blobs.Open(ctx, p.Digest)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil // gone since it was checked
	}
	if err != nil {
		return "", fmt.Errorf("fsck: quarantine %s: %w", p.Digest, err)
	}
	defer b.Close()
	if err := writeDurably(path, b); err != nil {
		return "", fmt.Errorf("fsck: quarantine %s: copy the bytes out: %w", p.Digest, err)
	}
	n, err := json.MarshalIndent(note{Digest: p.Digest, Kind: p.Kind, Detail: p.Detail, Repositories: p.Repositories,
		Tags: p.Tags, At: time.Now().UTC()}, "", "  ")
	if err != nil {
		return "", fmt.Errorf("fsck: quarantine note %s: %w", p.Digest, err)
	}
	if err := atomicfile.Write(path+".json", append(n, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("fsck: quarantine note %s: %w", p.Digest, err)
	}
	if err := c.blobs.Delete(ctx, p.Digest); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return "", fmt.Errorf("fsck: quarantine %s: delete from storage: %w", p.Digest, err)
	}
	return path, nil
}

// writeDurably copies r to a file whole or not at all: a temporary file,
// synced, renamed, and the directory synced (atomicfile's way, streamed:
// a blob may not fit in memory).
func writeDurably(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".quarantine-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := errors.Join(copyAll(tmp, r), tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

func copyAll(w io.Writer, r io.Reader) error {
	_, err := io.Copy(w, r)
	return err
}
