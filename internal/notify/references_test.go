package notify

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"wharf/internal/events"
)

// TestIncludeReferences: with includereferences, a manifest push or pull
// lists what distribution's Manifest.References lists (an image's config
// then its layers, an index's manifests with their platforms), read at
// Record time (the request's buffer is reused after it); blob events and
// deletes list none. Without it, no event has a references field.
func TestIncludeReferences(t *testing.T) {
	t.Parallel()
	cfg, l1, l2 := digest.FromString("config"), digest.FromString("layer 1"), digest.FromString("layer 2")
	image := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + cfg.String() + `","size":6},
"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + l1.String() + `","size":7},
{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + l2.String() + `","size":7,"urls":["https://example.com/l2"]}]}`)
	amd, arm := digest.FromString("amd64"), digest.FromString("arm64")
	index := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + amd.String() + `","size":500,"platform":{"architecture":"amd64","os":"linux"}},
{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + arm.String() + `","size":501,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}`)
	wantImage := []v1.Descriptor{
		{MediaType: "application/vnd.oci.image.config.v1+json", Digest: cfg, Size: 6},
		{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: l1, Size: 7},
		{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: l2, Size: 7, URLs: []string{"https://example.com/l2"}},
	}
	wantIndex := []v1.Descriptor{
		{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: amd, Size: 500, Platform: &v1.Platform{Architecture: "amd64", OS: "linux"}},
		{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: arm, Size: 501, Platform: &v1.Platform{Architecture: "arm64", OS: "linux", Variant: "v8"}},
	}
	record := func(n *Notifier) {
		buf := bytes.Clone(image)
		n.Record(&events.Event{Action: events.Push, Repository: "app", Tag: "v1", Digest: digest.FromBytes(image),
			MediaType: v1.MediaTypeImageManifest, Payload: buf})
		copy(buf, bytes.Repeat([]byte("x"), len(buf))) // the request's buffer, reused
		n.Record(&events.Event{Action: events.Pull, Repository: "app", Digest: digest.FromBytes(index),
			MediaType: v1.MediaTypeImageIndex, Payload: index})
		n.Record(&events.Event{Action: events.Push, Repository: "app", Digest: l1, Size: 7})
		n.Record(&events.Event{Action: events.Delete, Repository: "app", Tag: "v1"})
	}
	for _, include := range []bool{true, false} {
		r := newReceiver(t)
		n, err := New(openStore(t), testLog(t), Options{IncludeReferences: include, Poll: 50 * time.Millisecond, FlushInterval: 10 * time.Millisecond,
			Endpoints: []Endpoint{{Name: "hook", URL: r.server.URL, Timeout: time.Second, Threshold: 1, Backoff: time.Millisecond}}})
		if err != nil {
			t.Fatal(err)
		}
		n.Run(t.Context())
		t.Cleanup(n.Close)
		record(n)
		got := r.waitFor(t, 4)
		want := [][]v1.Descriptor{wantImage, wantIndex, nil, nil}
		if !include {
			want = [][]v1.Descriptor{nil, nil, nil, nil}
		}
		for i, ev := range got {
			if diff := cmp.Diff(want[i], ev.Target.References); diff != "" {
				t.Errorf("includereferences %v: event %d (%s %s) references (-want +got):\n%s", include, i, ev.Action, ev.Target.MediaType, diff)
			}
		}
		r.mu.Lock()
		bodies := strings.Join(r.sigs, "\n")
		r.mu.Unlock()
		if strings.Contains(bodies, `"references"`) != include {
			t.Errorf("includereferences %v: a body has a references field: %v", include, !include)
		}
	}
}
