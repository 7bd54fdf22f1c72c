package events

import (
	"testing"
)

func TestJoin(t *testing.T) {
	t.Parallel()
	if s := Join(nil, nil); s != nil {
		t.Fatalf("Join(nil, nil) = %v; want nil, so that the API builds no event", s)
	}
	var got []string
	a := SinkFunc(func(e *Event) { got = append(got, "a:"+e.Repository) })
	b := SinkFunc(func(e *Event) { got = append(got, "b:"+e.Repository) })
	if _, ok := Join(nil, a).(SinkFunc); !ok {
		t.Errorf("Join of one sink should be that sink")
	}
	Join(a, nil, b).Record(&Event{Repository: "r"})
	if len(got) != 2 || got[0] != "a:r" || got[1] != "b:r" {
		t.Errorf("Join(a, nil, b) recorded %v; want [a:r b:r]", got)
	}
	var empty Bus
	empty.Record(&Event{}) // must not panic
}

func TestManifest(t *testing.T) {
	t.Parallel()
	if (&Event{}).Manifest() || !(&Event{MediaType: "application/vnd.oci.image.manifest.v1+json"}).Manifest() {
		t.Errorf("Manifest() must be true exactly when a media type is set")
	}
}
