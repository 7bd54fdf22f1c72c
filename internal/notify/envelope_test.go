package notify

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/opencontainers/go-digest"

	"wharf/internal/events"
)

// TestEventJSON compares a rendered event with the field names of
// distribution's notifications.Event, written out by hand as its receivers
// decode them.
func TestEventJSON(t *testing.T) {
	t.Parallel()
	d := digest.FromString("manifest")
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	src := Source{Addr: "reg.example:5000", InstanceID: "inst"}
	tests := []struct {
		name string
		e    events.Event
		want string
	}{
		{"manifest push", events.Event{Time: at, Action: events.Push, Repository: "team/app", Digest: d,
			MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 42, Tag: "v1", Actor: "alice",
			Addr: netip.MustParseAddr("10.0.0.1"), RequestID: "req-1", Host: "reg.example", UserAgent: "docker/27"},
			`{"id":"ID","timestamp":"2026-01-02T03:04:05.000000006Z","action":"push",` +
				`"target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":42,"digest":"` + d.String() + `","length":42,` +
				`"repository":"team/app","url":"https://reg.example/v2/team/app/manifests/` + d.String() + `","tag":"v1"},` +
				`"request":{"id":"req-1","addr":"10.0.0.1","host":"reg.example","method":"PUT","useragent":"docker/27"},` +
				`"actor":{"name":"alice"},"source":{"addr":"reg.example:5000","instanceID":"inst"}}`},
		{"blob pull", events.Event{Time: at, Action: events.Pull, Repository: "app", Digest: d, Size: 7, Host: "h"},
			`{"id":"ID","timestamp":"2026-01-02T03:04:05.000000006Z","action":"pull",` +
				`"target":{"mediaType":"application/octet-stream","size":7,"digest":"` + d.String() + `","length":7,` +
				`"repository":"app","url":"https://h/v2/app/blobs/` + d.String() + `"},` +
				`"request":{"id":"","host":"h","method":"GET","useragent":""},"actor":{},"source":{"addr":"reg.example:5000","instanceID":"inst"}}`},
		{"mount", events.Event{Time: at, Action: events.Mount, Repository: "b", From: "a", Digest: d, Size: 7},
			`{"id":"ID","timestamp":"2026-01-02T03:04:05.000000006Z","action":"mount",` +
				`"target":{"mediaType":"application/octet-stream","size":7,"digest":"` + d.String() + `","length":7,"repository":"b","fromRepository":"a"},` +
				`"request":{"id":"","method":"POST","useragent":""},"actor":{},"source":{"addr":"reg.example:5000","instanceID":"inst"}}`},
		{"tag delete", events.Event{Time: at, Action: events.Delete, Repository: "app", Tag: "old"},
			`{"id":"ID","timestamp":"2026-01-02T03:04:05.000000006Z","action":"delete","target":{"repository":"app","tag":"old"},` +
				`"request":{"id":"","method":"DELETE","useragent":""},"actor":{},"source":{"addr":"reg.example:5000","instanceID":"inst"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev := newEvent(&recorded{Event: tc.e}, uuid.NewString(), "https", src)
			if len(ev.ID) != 36 {
				t.Errorf("id %q is not a UUID", ev.ID)
			}
			ev.ID = "ID"
			got, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("event JSON:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestEventIDsUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	e := events.Event{Action: events.Pull, Repository: "r"}
	for range 1000 {
		id := newEvent(&recorded{Event: e}, uuid.NewString(), "https", Source{}).ID
		if seen[id] {
			t.Fatalf("event id %s repeated", id)
		}
		seen[id] = true
	}
}

func TestEnvelope(t *testing.T) {
	t.Parallel()
	body := envelope([][]byte{[]byte(`{"id":"a"}`), []byte(`{"id":"b"}`)})
	if string(body) != `{"events":[{"id":"a"},{"id":"b"}]}` {
		t.Errorf("envelope = %s", body)
	}
}

func TestSign(t *testing.T) {
	t.Parallel()
	// The value `echo -n body | openssl dgst -sha256 -hmac secret` prints.
	const want = "sha256=dc46983557fea127b43af721467eb9b3fde2338fe3e14f51952aa8478c13d355"
	got := Sign([]byte("secret"), []byte("body"))
	if got != want {
		t.Fatalf("Sign = %q; want %q", got, want)
	}
	if !Verify([]byte("secret"), []byte("body"), got) {
		t.Errorf("Verify refused Sign's own signature")
	}
	for _, bad := range []struct{ secret, body, sig string }{
		{"other", "body", got}, {"secret", "bodY", got}, {"secret", "body", ""}, {"secret", "body", got[:70]},
	} {
		if Verify([]byte(bad.secret), []byte(bad.body), bad.sig) {
			t.Errorf("Verify(%q, %q, %q) = true", bad.secret, bad.body, bad.sig)
		}
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	f := newFilter(Endpoint{
		IgnoredMediaTypes: []string{"application/octet-stream"},
		IgnoreMediaTypes:  []string{"application/spdx+json"},
		IgnoreActions:     []string{"pull"},
		Repositories:      []string{"team/*", "prod/**", "app?"},
	})
	tests := []struct {
		action   events.Action
		repo, mt string
		want     bool
	}{
		{events.Push, "team/app", "application/vnd.oci.image.manifest.v1+json", true},
		{events.Push, "team/app/sub", "m", false},
		{events.Push, "prod/a/b/c", "m", true},
		{events.Push, "app1", "m", true},
		{events.Push, "app12", "m", false},
		{events.Push, "other", "m", false},
		{events.Pull, "team/app", "m", false},
		{events.Push, "team/app", "application/octet-stream", false},
		{events.Push, "team/app", "application/spdx+json", false},
		{events.Delete, "team/app", "", true},
		{events.Push, "team.x/app", "m", false},
	}
	for _, tc := range tests {
		if got := f.accepts(tc.action, tc.repo, tc.mt); got != tc.want {
			t.Errorf("accepts(%s, %q, %q) = %v; want %v", tc.action, tc.repo, tc.mt, got, tc.want)
		}
	}
	if !newFilter(Endpoint{}).accepts(events.Pull, "any/thing", "x") {
		t.Errorf("an endpoint without filters refused an event")
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		attempts int
		want     time.Duration
	}{
		{1, 0}, {2, 0}, {3, time.Second}, {4, 2 * time.Second}, {6, 8 * time.Second}, {20, time.Minute}, {1 << 20, time.Minute},
	} {
		if got := backoff(tc.attempts, 3, time.Second, time.Minute); got != tc.want {
			t.Errorf("backoff(%d, threshold 3, 1s, max 1m) = %v; want %v", tc.attempts, got, tc.want)
		}
	}
}
