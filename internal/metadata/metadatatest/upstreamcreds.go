package metadatatest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"wharf/internal/metadata"
)

// testUpstreamCredentials: a sealed credential round-trips byte for byte
// (any byte value, as ciphertext has), a second put replaces the first,
// rows list by upstream name, and deletes say when there was none.
func testUpstreamCredentials(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	sealed := make([]byte, 300)
	for i := range sealed {
		sealed[i] = byte(i)
	}
	when := time.Unix(1_700_000_000, 123).UTC()
	for _, c := range []metadata.UpstreamCredential{
		{Upstream: "mirror", Username: "acme", Sealed: []byte{1, 0, 2}, KeyID: "k1", Updated: when},
		{Upstream: "ghcr/io", Username: "bot", Sealed: sealed, KeyID: "k1", Updated: when},
		{Upstream: "mirror", Username: "acme2", Sealed: sealed[:17], KeyID: "k2", Updated: when.Add(time.Hour)},
	} {
		if err := s.PutUpstreamCredential(ctx, c); err != nil {
			t.Fatalf("PutUpstreamCredential(%s): %v", c.Upstream, err)
		}
	}
	got, err := s.UpstreamCredentialOf(ctx, "ghcr/io")
	if err != nil || got.Username != "bot" || !bytes.Equal(got.Sealed, sealed) || got.KeyID != "k1" || !got.Updated.Equal(when) {
		t.Errorf("UpstreamCredentialOf(ghcr/io) = %+v, %v", got, err)
	}
	all, err := s.UpstreamCredentials(ctx)
	if err != nil || len(all) != 2 || all[0].Upstream != "ghcr/io" || all[1].Upstream != "mirror" ||
		all[1].Username != "acme2" || all[1].KeyID != "k2" || !bytes.Equal(all[1].Sealed, sealed[:17]) {
		t.Fatalf("UpstreamCredentials = %+v, %v", all, err)
	}
	if _, err := s.UpstreamCredentialOf(ctx, "hub"); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("UpstreamCredentialOf(hub): %v; want ErrNotFound", err)
	}
	if err := s.DeleteUpstreamCredential(ctx, "mirror"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUpstreamCredential(ctx, "mirror"); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("second delete: %v; want ErrNotFound", err)
	}
}
